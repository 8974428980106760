// Responsiveness while a node catches up: node c1 holds COUNTERS counters
// (default 100,000, written over HTTP first); an empty node c2 then joins
// with c1 as its seed and catches up by anti-entropy. Meanwhile /health and
// a write are timed on both nodes every 20 ms, until c2 holds every counter.
// Reports catch-up time and p50/p99/max latencies.
//
//   node packages/node/bench/catchup.mjs [counters, default 100000]
import { join } from 'node:path'
import pino from 'pino'
import { get, percentile, post, rm, startNode, stop, tempDir, until } from './lib.mjs'

const { TallyNode } = await import('../dist/node.js')
const { createStore } = await import('../dist/storage/store-factory.js')
const { MemoryNetwork, MemoryTransport } = await import('../dist/wire/memory-transport.js')

const COUNTERS = Number(process.argv[2] ?? 100_000)
const dir = tempDir()
const extra = ['--durability', 'async']
// Seed c1's data dir in-process (HTTP would take minutes), then start it as a process.
{
  const t0 = Date.now()
  const logger = pino({ level: 'warn' })
  const seed = await TallyNode.start({
    id: 'c1',
    store: createStore({ dataDir: join(dir, 'c1'), durability: 'async', logger }),
    transport: new MemoryTransport(new MemoryNetwork(), 'seed:1'),
    logger,
  })
  let next = 0
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < COUNTERS) {
        const i = next++
        await seed.mutate({ name: `k${i}`, op: 'increment', amount: 1 + (i % 5) })
      }
    }),
  )
  await seed.stop()
  console.error(`seeded ${COUNTERS} counters in ${Date.now() - t0} ms`)
}
const c1 = await startNode('c1', dir, extra)
const nodes = [c1]
try {
  const c2 = await startNode('c2', dir, [...extra, '--peers', `127.0.0.1:${c1.tcp}`])
  nodes.push(c2)
  const joined = Date.now()
  const lat = { health: [[], []], write: [[], []] }
  let done = false
  const timed = async (arr, f) => {
    const t = performance.now()
    await f()
    arr.push(performance.now() - t)
  }
  const probes = [c1, c2].map(async (n, i) => {
    while (!done) {
      await timed(lat.health[i], () => get(`${n.url}/health`))
      await timed(lat.write[i], () => post(`${n.url}/counters/probe-${i}/increment`, {}))
      await new Promise((r) => setTimeout(r, 20))
    }
  })
  // Same digest = same state (the probe counters included, so both keep up with each other).
  await until(
    async () => {
      const [a, b] = await Promise.all([get(`${c1.url}/stats`), get(`${c2.url}/stats`)])
      return a && b && b.counters >= COUNTERS && a.digest === b.digest
    },
    300_000,
    200,
  )
  const caughtUp = Date.now() - joined
  done = true
  await Promise.all(probes)
  const row = (name, xs) =>
    `${name}: p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length})`
  console.log(`catch-up of ${COUNTERS} counters: ${caughtUp} ms`)
  console.log(row('c1 (source) /health', lat.health[0]))
  console.log(row('c1 (source) write  ', lat.write[0]))
  console.log(row('c2 (joiner) /health', lat.health[1]))
  console.log(row('c2 (joiner) write  ', lat.write[1]))
} finally {
  await stop(nodes)
  rm(dir)
}
