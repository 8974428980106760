// Convergence latency: time from a write's HTTP ack at one node until every
// node serves the new value (each node polled over HTTP every POLL_MS = 5 ms,
// so figures include up to ~5 ms of polling delay plus one HTTP round trip).
// Usage: node bench/convergence.mjs [N] [samples] [extra flags...]
import { cluster, get, percentile, post, rm, stop, tempDir } from './lib.mjs'

const POLL_MS = 5

export async function convergence(n, samples, extra = []) {
  const dir = tempDir()
  const nodes = await cluster(n, dir, extra)
  const lat = []
  try {
    for (let k = 1; k <= samples; k++) {
      const writer = nodes[k % n]
      await post(`${writer.url}/counters/conv/increment`, { amount: 1 })
      const t0 = performance.now()
      // One poller per node, each sleeping POLL_MS between requests, so the
      // measurement itself does not flood a shared 2-core machine.
      const done = await Promise.all(
        nodes
          .filter((x) => x !== writer)
          .map(async (x) => {
            for (;;) {
              const r = await get(`${x.url}/counters/conv`)
              if (r && r.value >= k) return performance.now()
              if (performance.now() - t0 > 30_000) throw new Error('no convergence in 30 s')
              await new Promise((res) => setTimeout(res, POLL_MS))
            }
          }),
      )
      lat.push(Math.max(...done) - t0)
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
