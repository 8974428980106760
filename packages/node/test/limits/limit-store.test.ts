// Durable rate-limit buckets: rows overwrite per bucket and replica, recovery
// reads only live buckets, drop removes dead ones, corrupt rows are skipped;
// and a real node on LevelDB keeps its hits across a restart while old
// buckets neither come back nor stay on disk.

import { Cleanup, tempDir, until } from '@tally/kit/testing'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelLimitStore, limitKey, MemoryLimitStore } from '../../src/limits/limit-store.js'
import { LIMIT_SKEW_MS } from '../../src/limits/limit-table.js'
import { TallyNode } from '../../src/node.js'
import { LevelStore } from '../../src/storage/level-store.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import type { BucketTuple } from '../../src/wire/limit-messages.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { silent } from '../support/sim.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const W = 1_000
const t = (start: number, replica: string, count: number, name = 'a'): BucketTuple => [
  name,
  W,
  start,
  replica,
  count,
]

async function memDb(): Promise<WalDb> {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  return db as unknown as WalDb
}

describe.each([
  ['LevelLimitStore (memory-level)', async () => new LevelLimitStore(await memDb(), true)],
  ['MemoryLimitStore', async () => new MemoryLimitStore()],
])('%s', (_name, make) => {
  it('keeps the latest count per bucket and replica, loads live buckets, drops dead ones', async () => {
    const s = await make()
    await Promise.all([s.write([t(10_000, 'r1', 3)]), s.write([t(10_000, 'r1', 5), t(10_000, 'r2', 1)])])
    await s.write([t(20_000, 'r1', 7)])
    const all = (await s.load(0)).tuples
    expect(all).toEqual(expect.arrayContaining([t(10_000, 'r1', 5), t(10_000, 'r2', 1), t(20_000, 'r1', 7)]))
    expect(all).toHaveLength(3)
    // A bucket matters until the end of the window after it: 10 000 until 12 000.
    expect((await s.load(12_000)).tuples).toHaveLength(3)
    expect((await s.load(12_001)).tuples).toEqual([t(20_000, 'r1', 7)])
    await s.drop(12_001)
    expect((await s.load(0)).tuples).toEqual([t(20_000, 'r1', 7)])
  })
})

describe('LevelLimitStore rows', () => {
  it('skips rows that do not decode to their own key, and counts them', async () => {
    const db = await memDb()
    const s = new LevelLimitStore(db, false)
    await s.write([t(10_000, 'r1', 2)])
    const enc = new TextEncoder()
    await db.put(limitKey(t(10_000, 'r9', 1)), enc.encode('not json'))
    await db.put(limitKey(t(10_000, 'r8', 1)), enc.encode(JSON.stringify(t(10_000, 'r7', 1))))
    await db.put(limitKey(t(10_000, 'r6', 1)), enc.encode(JSON.stringify(['a', W, 10_001, 'r6', 1])))
    expect(await s.load(0)).toEqual({ tuples: [t(10_000, 'r1', 2)], skipped: 3 })
  })
})

describe('a node on LevelDB', () => {
  it('keeps allowed hits across a restart; dead buckets are not recovered and leave the disk', async () => {
    const dir = await tempDir(cleanup, 'tally-limits-')
    const start = async () => {
      const store = new LevelStore({ dataDir: dir, bootId: 'boot' })
      const node = await TallyNode.start({
        id: 'n1',
        store,
        transport: new MemoryTransport(new MemoryNetwork(), 'n1:1'),
        logger: silent,
      })
      return node
    }
    let node = await start()
    const long = { limit: 100, windowMs: 600_000, amount: 7 }
    const short = { limit: 100, windowMs: 1, amount: 3 }
    expect((await node.limits.hit('long', long)).allowed).toBe(true)
    expect((await node.limits.hit('short', short)).allowed).toBe(true)
    const stoppedAt = Date.now()
    await node.stop()
    // Past the skew margin, the 1 ms window's bucket is dead.
    await until(() => Date.now() > stoppedAt + LIMIT_SKEW_MS + 2, {
      what: 'the skew margin to pass',
      timeoutMs: 5_000,
    })
    node = await start()
    const now = Date.now()
    expect(node.limits.table.estimate('long', 600_000, now)).toBe(7)
    // The 1 ms window's bucket was dead before the restart: not recovered.
    expect(node.limits.table.estimate('short', 1, now)).toBe(0)
    expect(node.limits.table.tuples().map((x) => x[0])).toEqual(['long'])
    // GC drops it from the disk too.
    node.limits.round([])
    await node.stop()
    const reopened = new LevelStore({ dataDir: dir, bootId: 'boot' })
    await reopened.open('n1')
    const shared = reopened.sharedDb()
    expect(shared).not.toBeNull()
    const rows = await new LevelLimitStore(shared!.db, false).load(0)
    expect(rows.tuples.map((x) => x[0])).toEqual(['long'])
    await reopened.close()
  })
})
