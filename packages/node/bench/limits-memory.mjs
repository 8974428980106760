// A million short windows: memory stays flat. One TallyNode in process on a
// LevelDB data dir (the real store, the real limits), lone (no peers: its
// gossip rounds still run and drive GC). It takes H hits, each on a distinct
// limit name with a window of W ms, C at a time, as fast as it can; every
// tenth of the load it reports heap used and RSS after a forced GC, and the
// limits, buckets and hit keys held. With GC working, the held counts track
// the hits of the last ~2W + 1 s (the skew margin), not the total, and
// memory does not grow with H. At the end it also counts the bucket rows on
// disk and restarts the node on the same data dir (what recovery loads).
// Usage (after npm run build), from packages/node:
//   node --expose-gc bench/limits-memory.mjs     env: H (1000000), W (50), C (500), DURABILITY (sync)

import pino from 'pino'
import { MemoryNetwork, MemoryTransport, TallyNode } from '../dist/index.js'
import { LevelLimitStore } from '../dist/limits/limit-store.js'
import { LevelStore } from '../dist/storage/level-store.js'
import { rm, tempDir } from './lib.mjs'

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc')
  process.exit(1)
}
const env = (k, d) => Number(process.env[k] ?? d)
const H = env('H', 1_000_000)
const W = env('W', 50)
const C = env('C', 500)
const durability = process.env.DURABILITY ?? 'sync'
const MB = (b) => Math.round((b / 1048576) * 10) / 10

const dir = tempDir()
const logger = pino({ level: 'warn' })
const start = () =>
  TallyNode.start({
    id: 'm1',
    store: new LevelStore({ dataDir: dir, durability, logger }),
    transport: new MemoryTransport(new MemoryNetwork(), 'm1:1'),
    logger,
  })
let node = await start()
const rows = []
const sample = (done, t0) => {
  globalThis.gc()
  const m = process.memoryUsage()
  const l = node.limits
  const row = {
    hits: done,
    secs: Math.round((performance.now() - t0) / 100) / 10,
    heapMB: MB(m.heapUsed),
    rssMB: MB(m.rss),
    limits: l.table.size,
    buckets: l.table.buckets,
    dropped: l.dropped,
  }
  rows.push(row)
  console.error(JSON.stringify(row))
}
try {
  const t0 = performance.now()
  sample(0, t0)
  const hit = { limit: 10, windowMs: W, amount: 1 }
  let done = 0
  for (let tenth = 1; tenth <= 10; tenth++) {
    const end = Math.floor((H * tenth) / 10)
    while (done < end) {
      const n = Math.min(C, end - done)
      const batch = []
      for (let i = 0; i < n; i++) batch.push(node.limits.hit(`w${done + i}`, hit))
      await Promise.all(batch)
      done += n
      // Let the gossip round (and with it GC) run between batches, as requests would.
      await new Promise((r) => setImmediate(r))
    }
    sample(done, t0)
  }
  const secs = (performance.now() - t0) / 1000
  // What is left on disk and what a restart loads, once the last windows are dead and the
  // node's own rounds have run GC (at most once a second) since.
  await new Promise((r) => setTimeout(r, 2 * W + 2_500))
  await node.stop()
  const store = new LevelStore({ dataDir: dir, durability, logger })
  await store.open('m1')
  const shared = store.sharedDb()
  const onDisk = (await new LevelLimitStore(shared.db, false).load(0)).tuples.length
  await store.close()
  node = await start()
  const loaded = node.limits.table.buckets
  const first = rows[1]
  const last = rows[rows.length - 1]
  console.log(
    JSON.stringify({
      hits: H,
      windowMs: W,
      concurrency: C,
      durability,
      hitsPerSec: Math.round(H / secs),
      heapMB: {
        afterFirstTenth: first.heapMB,
        end: last.heapMB,
        max: Math.max(...rows.slice(1).map((r) => r.heapMB)),
      },
      rssMB: {
        afterFirstTenth: first.rssMB,
        end: last.rssMB,
        max: Math.max(...rows.slice(1).map((r) => r.rssMB)),
      },
      limitsHeld: { max: Math.max(...rows.map((r) => r.limits)), end: last.limits },
      bucketRowsOnDiskAfter: onDisk,
      bucketsLoadedAtRestart: loaded,
    }),
  )
} finally {
  await node.stop()
  rm(dir)
}
