// Responsiveness while a node catches up: node c1 holds COUNTERS counters
// (default 100,000, seeded in-process first); an empty node c2 then joins
// with c1 as its seed and catches up by anti-entropy. Meanwhile /health and
// a write are timed on both nodes every 20 ms, until c2 holds every counter.
// Reports catch-up time and p50/p99/max latencies, per slice budget
// (`--catch-up-slice-entries` on both nodes; 1000000 answers the whole
// difference at once, as before slices), runs interleaved, medians printed.
//
//   node packages/node/bench/catchup.mjs [counters=100000] [budgets=4096] [runs=1]

import { rmSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { get, percentile, post, rm, startNode, stop, tempDir, until } from './lib.mjs'

const { TallyNode } = await import('../dist/node.js')
const { createStore } = await import('../dist/storage/store-factory.js')
const { MemoryNetwork, MemoryTransport } = await import('../dist/wire/memory-transport.js')

const COUNTERS = Number(process.argv[2] ?? 100_000)
const BUDGETS = (process.argv[3] ?? '4096').split(',').map(Number)
const RUNS = Number(process.argv[4] ?? 1)
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
async function once(budget) {
  const flags = [...extra, '--catch-up-slice-entries', String(budget)]
  rmSync(join(dir, 'c2'), { recursive: true, force: true })
  const c1 = await startNode('c1', dir, flags)
  const nodes = [c1]
  try {
    await until(async () => (await get(`${c1.url}/health`)) !== null, 60_000)
    const c2 = await startNode('c2', dir, [...flags, '--peers', `127.0.0.1:${c1.tcp}`])
    nodes.push(c2)
    const joined = Date.now()
    const lat = { health: [[], []], write: [[], []] }
    let done = false
    let failed = 0
    // A request that fails or times out (10 s for writes, 5 s for /health) counts with the time it took.
    const timed = async (arr, f) => {
      const t = performance.now()
      try {
        if ((await f()) === null) failed++
      } catch {
        failed++
      }
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
    const p = (xs, q) => percentile(xs, q)
    return {
      budget,
      caughtUp,
      sourceHealth: [p(lat.health[0], 50), p(lat.health[0], 99), Math.max(...lat.health[0])],
      sourceWrite: [p(lat.write[0], 50), p(lat.write[0], 99), Math.max(...lat.write[0])],
      joinerHealth: [p(lat.health[1], 50), p(lat.health[1], 99), Math.max(...lat.health[1])],
      joinerWrite: [p(lat.write[1], 50), p(lat.write[1], 99), Math.max(...lat.write[1])],
      samples: lat.health[0].length,
      failed,
    }
  } finally {
    await stop(nodes)
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = new Map(BUDGETS.map((b) => [b, []]))
try {
  for (let r = 0; r < RUNS; r++) {
    for (const b of BUDGETS) {
      const res = await once(b)
      results.get(b).push(res)
      const f = (xs) => xs.map((x) => x.toFixed(0)).join('/')
      console.error(
        `run ${r + 1} budget ${b}: ${res.caughtUp} ms; p50/p99/max ms: source /health ${f(res.sourceHealth)}, write ${f(res.sourceWrite)}; joiner /health ${f(res.joinerHealth)}, write ${f(res.joinerWrite)}; failed or timed out: ${res.failed}`,
      )
    }
  }
  for (const [b, rs] of results) {
    const m = (k, i) => median(rs.map((x) => x[k][i])).toFixed(1)
    console.log(
      `budget ${b}, catch-up of ${COUNTERS} counters (median of ${rs.length}): ${median(rs.map((x) => x.caughtUp))} ms`,
    )
    for (const [k, label] of [
      ['sourceHealth', 'c1 (source) /health'],
      ['sourceWrite', 'c1 (source) write  '],
      ['joinerHealth', 'c2 (joiner) /health'],
      ['joinerWrite', 'c2 (joiner) write  '],
    ])
      console.log(`  ${label}: p50 ${m(k, 0)} ms, p99 ${m(k, 1)} ms, max ${m(k, 2)} ms`)
  }
} finally {
  rm(dir)
}
