// Memory of deleted and expired counters on one node: many create → TTL →
// expire cycles, in process, with an injected clock (each expiry is
// immediate) and the in-memory store. Two workloads, interleaved cycle by
// cycle so machine noise hits both alike:
//
//   reuse   the same K names every cycle (per-user rate-limit keys: a name
//           expires and is written again). The node keeps one mark, one TTL
//           register and one entry per name: memory must stay flat.
//   unique  K fresh names every cycle (a window in the name). With garbage
//           collection on (GC=on, the default) every deleted or expired
//           name is dropped at the end of its cycle (resets/counter-gc.ts:
//           a lone node has no member to wait for; the grace period is
//           passed on the injected clock), so memory must stay flat; with
//           GC=off every expired name keeps its entry and its mark: this
//           measures what each costs.
//
// Usage (after npm run build), from packages/node:
//   node --expose-gc bench/delete-ttl-memory.mjs
// Env: K names per cycle (default 2000), CYCLES (default 40), MODE
// `expire` (default), `delete` (DELETE instead of a TTL) or `writes` (the
// increments alone: the baseline), GC `on` (default) or `off`.
// Also reports RSS (after the same full GC) at the first and last row.
// Reports heapUsed after a full GC at cycles 1, 10, 20, … for both workloads,
// and the slope (bytes per cycle; per expired counter for `unique`). Each
// cycle ends with a snapshot (the in-memory store then drops its log, as
// LevelStore does), so the figures are the node's own state: CounterMap,
// marks, TTL registers, expiry queue, keyed answers.
import { fileURLToPath } from 'node:url'
import pino from 'pino'

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc')
  process.exit(2)
}
const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url))
const { TallyNode } = await import(dist('node.js'))
const { MemoryStore } = await import(dist('storage/memory-store.js'))
const { MemoryNetwork, MemoryTransport } = await import(dist('wire/memory-transport.js'))

const K = Number(process.env.K ?? 2000)
const CYCLES = Number(process.env.CYCLES ?? 40)
const MODE = process.env.MODE ?? 'expire'
const GC = (process.env.GC ?? 'on') === 'on'
const GRACE_MS = 1000

async function start(id) {
  let now = 1_800_000_000_000
  const node = await TallyNode.start({
    id,
    store: new MemoryStore(),
    transport: new MemoryTransport(new MemoryNetwork(), `${id}:1`),
    logger: pino({ level: 'silent' }),
    gossipIntervalMs: 60_000,
    snapshotIntervalMs: 3_600_000,
    // A lone node has no peer to push to. (With eager push on, a lone node's heap grows by about
    // 580 B per local write in this harness, deletes and TTLs or not: seen while writing this
    // benchmark, not investigated here; it would hide what this measures.)
    eagerPush: false,
    // GC=off: a grace period no run reaches (the node's own gossip rounds would collect otherwise).
    gcGraceMs: GC ? GRACE_MS : 86_400_000,
    now: () => now,
  })
  return { node, tick: (ms) => (now += ms) }
}

// One cycle: write K counters, give each a TTL (or delete it), pass the expiry, read each (0).
async function cycle(n, names) {
  await Promise.all(names.map((name) => n.node.mutate({ name, op: 'increment', amount: 3 })))
  if (MODE === 'writes') {
    n.tick(1001)
    await n.node.snapshot()
    return
  }
  if (MODE === 'delete') await Promise.all(names.map((name) => n.node.delete(name)))
  // TTL 1 ms: the node's expiry timer (armed on the injected clock, fired in real time) then pops
  // the queue at the next timer phase, as it would at the expiry time on a real clock.
  else await Promise.all(names.map((name) => n.node.expire(name, 1)))
  n.tick(1001)
  await new Promise((resolve) => setTimeout(resolve, 5))
  for (const name of names) if (n.node.value(name) !== 0) throw new Error(`${name} did not expire`)
  if (n.node.names().length !== 0) throw new Error('an expired counter is still listed')
  if (GC) {
    // One round finds the candidates (every member, here none, confirmed); the next, past the grace
    // period, asks again; the third finds every member confirmed twice and drops them.
    n.node.gc.round()
    n.tick(GRACE_MS + 1)
    n.node.gc.round()
    n.node.gc.round()
    if (n.node.map.size !== 0 || n.node.lifecycle.marks.size !== 0)
      throw new Error(`not collected: ${n.node.map.size} counters, ${n.node.lifecycle.marks.size} marks`)
  }
  // A snapshot truncates the store's log, as the daemon's scheduler does: what stays is the node's state.
  await n.node.snapshot()
}

let lastRss = 0
function heap() {
  globalThis.gc()
  globalThis.gc()
  const m = process.memoryUsage()
  lastRss = m.rss
  return m.heapUsed
}

const reuse = await start('reuse')
const unique = await start('unique')
const fixed = Array.from({ length: K }, (_, i) => `rl:user-${i}`)
const rows = []
for (let c = 1; c <= CYCLES; c++) {
  await cycle(reuse, fixed)
  const r = heap()
  await cycle(
    unique,
    Array.from({ length: K }, (_, i) => `rl:user-${i}:w${c}`),
  )
  const u = heap()
  if (c === 1 || c % 10 === 0) rows.push({ c, r, u, rss: lastRss })
}
const mb = (b) => (b / 1048576).toFixed(1)
console.log(
  `mode ${MODE}, garbage collection ${GC ? 'on' : 'off'}, K ${K} names per cycle, ${CYCLES} cycles (heapUsed after gc, MB; RSS of the process, MB)`,
)
console.log('cycle  reuse   unique     rss')
for (const { c, r, u, rss } of rows)
  console.log(`${String(c).padStart(5)}  ${mb(r).padStart(6)}  ${mb(u).padStart(6)}  ${mb(rss).padStart(6)}`)
const first = rows[0]
const last = rows[rows.length - 1]
const span = last.c - first.c
const slopeR = (last.r - first.r) / span
const slopeU = (last.u - first.u) / span
console.log(
  `reuse:  ${(slopeR / 1024).toFixed(1)} KiB per cycle (${(slopeR / K).toFixed(1)} B per name-cycle)`,
)
console.log(
  `unique: ${(slopeU / 1024).toFixed(1)} KiB per cycle (${(slopeU / K).toFixed(0)} B per expired counter kept)`,
)
console.log(
  `marks held: reuse ${reuse.node.lifecycle.marks.size}, unique ${unique.node.lifecycle.marks.size}; map counters: reuse ${reuse.node.map.size}, unique ${unique.node.map.size}; collected: reuse ${reuse.node.gc.stats.collected}, unique ${unique.node.gc.stats.collected}`,
)
await reuse.node.stop()
await unique.node.stop()
