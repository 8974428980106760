// Restart recovery of the LevelDB store: write a WAL of N operations directly
// through the Store API (no HTTP), close, then time open() plus the daemon's
// rebuild of its CounterMap. Also: snapshot size and heap per counter.
// Usage: node --expose-gc bench/recovery.mjs [ops=1000000] [counters=1000]
// Needs the build (npm run build). Machines are noisy: run it a few times.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CounterMap } from '@tally/crdt'

const dist = fileURLToPath(new URL('../dist/storage/level-store.js', import.meta.url))
if (!existsSync(dist)) {
  console.error(`${dist} is missing: run npm run build`)
  process.exit(1)
}
const { LevelStore } = await import(dist)
const { rebuildCounters } = await import(
  fileURLToPath(new URL('../dist/storage/recovery.js', import.meta.url))
)

const ops = Number(process.argv[2] ?? 1_000_000)
const counters = Number(process.argv[3] ?? 1000)

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Writes `ops` increments as the daemon would (one delta per op), `inflight` appends at a time. */
async function writeWal(dir, maxBatch, inflight) {
  const store = new LevelStore({ dataDir: dir, durability: 'async', maxBatch, snapshotEveryOps: Infinity })
  const rec = await store.open('bench')
  const map = new CounterMap(rec.identity.replicaId)
  const t0 = performance.now()
  let pending = []
  for (let i = 0; i < ops; i++) {
    map.increment(`c${i % counters}`, 1)
    pending.push(store.appendLocal(map.deltaFor(map.replica, map.seq - 1)))
    if (pending.length >= inflight) {
      await Promise.all(pending)
      pending = []
    }
  }
  await Promise.all(pending)
  const writeMs = performance.now() - t0
  const { batches } = store.stats
  await store.close()
  return { writeMs, batches, expected: map.digest() }
}

async function recoverOnce(dir) {
  const t0 = performance.now()
  const store = new LevelStore({ dataDir: dir })
  const rec = await store.open('bench')
  const openMs = performance.now() - t0
  // The node's rebuild: the folded state, the snapshot's slices, any deltas.
  const { map } = await rebuildCounters(rec)
  const totalMs = performance.now() - t0
  await store.close()
  return { openMs, totalMs, digest: map.digest() }
}

async function scenario(label, maxBatch, inflight) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'))
  try {
    const w = await writeWal(dir, maxBatch, inflight)
    const runs = []
    for (let i = 0; i < 3; i++) {
      const r = await recoverOnce(dir)
      if (r.digest !== w.expected) throw new Error('recovered state differs from the written one')
      runs.push(r)
    }
    return {
      scenario: label,
      ops,
      counters,
      walRecords: w.batches,
      writeOpsPerSec: Math.round(ops / (w.writeMs / 1000)),
      recoverOpenMsMedian: Math.round(median(runs.map((r) => r.openMs))),
      recoverTotalMsMedian: Math.round(median(runs.map((r) => r.totalMs))),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A typical restart: a snapshot of `n` counters written by 3 replicas, then `walOps` logged operations. */
async function snapshotScenario(n, walOps) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'))
  try {
    const store = new LevelStore({ dataDir: dir, durability: 'async', snapshotEveryOps: Infinity })
    const rec = await store.open('bench')
    const map = new CounterMap(rec.identity.replicaId)
    for (const r of ['peer-a.1838381891282792', 'peer-b.1838381891282792']) {
      const peer = new CounterMap(r)
      for (let i = 0; i < n; i++) peer.increment(`counter-${i}`, 1 + (i % 100))
      map.merge(peer.state())
    }
    for (let i = 0; i < n; i++) map.increment(`counter-${i}`, 1)
    await store.snapshot(map.state(), [])
    let pending = []
    for (let i = 0; i < walOps; i++) {
      map.increment(`counter-${i % n}`, 1)
      pending.push(store.appendLocal(map.deltaFor(map.replica, map.seq - 1)))
      if (pending.length >= 64) {
        await Promise.all(pending)
        pending = []
      }
    }
    await Promise.all(pending)
    await store.close()
    const runs = []
    for (let i = 0; i < 3; i++) {
      const r = await recoverOnce(dir)
      if (r.digest !== map.digest()) throw new Error('recovered state differs from the written one')
      runs.push(r)
    }
    return {
      snapshotCounters: n,
      replicas: 3,
      walOps,
      recoverOpenMsMedian: Math.round(median(runs.map((r) => r.openMs))),
      recoverTotalMsMedian: Math.round(median(runs.map((r) => r.totalMs))),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function heapPerCounter(n, replicas) {
  globalThis.gc?.()
  // Heap plus typed-array storage (the CounterMap keeps its entries in typed arrays).
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
  const before = used()
  const maps = Array.from({ length: replicas }, (_, r) => new CounterMap(`node-${r}.1838381891282792`))
  for (const m of maps) for (let i = 0; i < n; i++) m.increment(`counter-${i}`, 1 + (i % 100))
  const merged = maps[0]
  for (const m of maps.slice(1)) merged.merge(m.state())
  maps.length = 1
  globalThis.gc?.()
  const bytes = used() - before
  return {
    counters: n,
    replicasPerCounter: replicas,
    heapAndArrayBytesPerCounter: Math.round(bytes / n),
    keep: merged.size,
  }
}

async function snapshotBytesPerCounter(n) {
  const { encodeChunk } = await import(
    fileURLToPath(new URL('../dist/storage/snapshot-codec.js', import.meta.url))
  )
  const m = new CounterMap('node-1.1838381891282792')
  for (let i = 0; i < n; i++) m.increment(`counter-${i}`, 1 + (i % 100))
  // Format 3 (written now): packed column chunks of 2048 entries; format 2 (still read): plain columns.
  let bytes = 0
  let format2 = 0
  for (let from = 0; from < m.size; ) {
    const { columns, next } = m.packedColumns(from, 2048)
    bytes += encodeChunk({ packed: columns }).length
    format2 += encodeChunk({ columns: m.stateColumns(from, 2048).columns }).length
    from = next
  }
  return {
    counters: n,
    snapshotBytesPerCounter: Math.round(bytes / n),
    format2BytesPerCounter: Math.round(format2 / n),
  }
}

const out = (name, r) => console.log(`${name.padEnd(40)} ${JSON.stringify(r)}`)
if (!globalThis.gc) console.log('(run with node --expose-gc for heap figures)')
out('recovery, one op per WAL record', await scenario('maxBatch=1', 1, 1))
out('recovery, group-committed (64/record)', await scenario('maxBatch=64', 64, 64))
out('restart: snapshot + 100k-op log', await snapshotScenario(100_000, 100_000))
out('heap per counter (1 replica)', heapPerCounter(100_000, 1))
out('heap per counter (3 replicas)', heapPerCounter(100_000, 3))
out('snapshot bytes per counter', await snapshotBytesPerCounter(100_000))
