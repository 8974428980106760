// Memory of a CounterMap per counter: N counters (default 1 000 000) changed
// by this replica, then by REPLICAS−1 peers (merged as deltas of 1 000
// entries, as gossip delivers them). Reports, after a forced GC, the growth
// of the process's RSS, of the V8 heap and of typed-array storage per
// counter, and the time to build. One configuration per process (RSS is
// per process): `node --expose-gc bench/memory.mjs [counters] [replicas]`.
// Needs the build (`npm run build -w @tally/crdt`). Run a few times: RSS
// depends on the allocator and on what else the machine is doing.
import { existsSync } from 'node:fs'

const dist = new URL('../dist/index.js', import.meta.url)
if (!existsSync(dist)) {
  console.error('dist/ is missing: run `npm run build` first.')
  process.exit(1)
}
if (!globalThis.gc) {
  console.error('run with node --expose-gc')
  process.exit(1)
}
const { CounterMap } = await import(dist.href)
const N = Number(process.argv[2] ?? 1_000_000)
const R = Number(process.argv[3] ?? 1)

globalThis.gc()
const m0 = process.memoryUsage()
const map = new CounterMap('node-1.1838381891282792')
const t0 = performance.now()
for (let i = 0; i < N; i++) map.increment(`user:${i}`, 1)
for (let r = 2; r <= R; r++) {
  const id = `node-${r}.1838381891282792`
  for (let i = 0; i < N; i += 1000) {
    const entries = []
    for (let j = i; j < Math.min(N, i + 1000); j++) entries.push([`user:${j}`, id, 2, 0, j + 1])
    map.applyDelta({ ranges: [], entries })
  }
}
const buildMs = performance.now() - t0
globalThis.gc()
const m1 = process.memoryUsage()
const per = (k) => Math.round((m1[k] - m0[k]) / N)
console.log(
  JSON.stringify({
    counters: map.size,
    replicasPerCounter: R,
    rssBytesPerCounter: per('rss'),
    heapBytesPerCounter: per('heapUsed'),
    typedArrayBytesPerCounter: per('arrayBuffers'),
    buildMs: Math.round(buildMs),
  }),
)
