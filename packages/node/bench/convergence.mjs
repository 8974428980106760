// Convergence latency: time from a write's HTTP ack at one node until every
// node serves the new value (polled over HTTP every 2 ms, so figures include
// up to ~2 ms of polling delay). Usage: node bench/convergence.mjs [N] [samples] [extra flags...]
import { cluster, get, percentile, post, rm, stop, tempDir } from './lib.mjs'

export async function convergence(n, samples, extra = []) {
  const dir = tempDir()
  const nodes = await cluster(n, dir, extra)
  const lat = []
  try {
    for (let k = 1; k <= samples; k++) {
      const writer = nodes[k % n]
      await post(`${writer.url}/counters/conv/increment`, { amount: 1 })
      const t0 = performance.now()
      const pending = new Set(nodes.filter((x) => x !== writer))
      while (pending.size > 0) {
        await Promise.all(
          [...pending].map(async (x) => {
            const r = await get(`${x.url}/counters/conv`)
            if (r && r.value >= k) pending.delete(x)
          }),
        )
        if (pending.size > 0) await new Promise((r) => setTimeout(r, 2))
        if (performance.now() - t0 > 30_000) throw new Error('no convergence in 30 s')
      }
      lat.push(performance.now() - t0)
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await stop(nodes)
    rm(dir)
  }
  return { n, samples, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat) }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n = '5', samples = '50', ...extra] = process.argv.slice(2)
  console.log(JSON.stringify(await convergence(Number(n), Number(samples), extra)))
}
