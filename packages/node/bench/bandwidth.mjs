// Idle gossip bandwidth: bytes sent per node per second by the gossip
// transport (from /stats) over a quiet window, after loading `counters`
// distinct counters and letting the cluster converge.
// Usage: node bench/bandwidth.mjs [counters] [N] [windowMs]
import { cluster, get, post, rm, stop, tempDir, until } from './lib.mjs'

async function load(url, count) {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      await post(`${url}/counters/c${i}/increment`, { amount: 1 })
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker))
}

export async function bandwidth(counters, n = 3, windowMs = 10_000) {
  const dir = tempDir()
  const nodes = await cluster(n, dir, ['--durability', 'async'])
  try {
    await load(nodes[0].url, counters)
    await until(
      async () => {
        const ms = await Promise.all(nodes.map((x) => get(`${x.url}/stats`)))
        return ms.every((m) => m && m.digest === ms[0].digest && m.counters === counters)
      },
      120_000,
      200,
    )
    await new Promise((r) => setTimeout(r, 2000))
    const before = await Promise.all(nodes.map((x) => get(`${x.url}/stats`)))
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, windowMs))
    const after = await Promise.all(nodes.map((x) => get(`${x.url}/stats`)))
    const secs = (performance.now() - t0) / 1000
    const perNode = after.map((m, i) => (m.transport.bytesOut - before[i].transport.bytesOut) / secs)
    const avg = perNode.reduce((a, b) => a + b, 0) / n
    return { counters, n, bytesPerNodePerSec: Math.round(avg), bytesPerPeerPerSec: Math.round(avg / (n - 1)) }
  } finally {
    await stop(nodes)
    rm(dir)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [c = '1', n = '3', w = '10000'] = process.argv.slice(2)
  console.log(JSON.stringify(await bandwidth(Number(c), Number(n), Number(w))))
}
