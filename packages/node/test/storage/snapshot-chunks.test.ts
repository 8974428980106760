import { CounterMap } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { Level } from 'level'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { SNAPSHOT_KEY } from '../../src/storage/record-codec.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { CHUNK_END, CHUNK_PREFIX, chunkKey, chunkRange } from '../../src/storage/snapshot-codec.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import { CHUNK_ENTRIES } from '../../src/storage/snapshot-writer.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { Driver } from '../support/store-driver.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const BOOT = 'boot-A'
const dbs = new Map<string, MemoryLevel<string, Uint8Array>>()
function memStore(dataDir: string, extra: Partial<ConstructorParameters<typeof LevelStore>[0]> = {}) {
  return new LevelStore({
    dataDir,
    bootId: BOOT,
    openDb: (loc) => {
      let db = dbs.get(loc)
      if (!db) {
        db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
        dbs.set(loc, db)
      }
      return db as unknown as WalDb
    },
    ...extra,
  })
}
const diskStore = (dataDir: string) => new LevelStore({ dataDir, bootId: BOOT })

async function keysIn(db: WalDb, range: { gte: string; lt: string }): Promise<string[]> {
  const it = db.iterator(range)
  const out: string[] = []
  for (let rows = await it.nextv(1000); rows.length > 0; rows = await it.nextv(1000))
    out.push(...rows.map((r) => r[0]))
  await it.close()
  return out
}

async function rawDisk(dataDir: string, fn: (db: WalDb) => Promise<void>): Promise<void> {
  const db = new Level<string, Uint8Array>(`${dataDir}/db`, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  }) as unknown as WalDb
  await db.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

/** A driver holding `n` counters, each written by this replica and by a peer. */
async function filled(store: LevelStore, n: number): Promise<Driver> {
  const a = await Driver.open(store)
  const peer = new CounterMap('peer.1')
  for (let i = 0; i < n; i++) peer.increment(`c${i}`, 2)
  await a.remote(peer.deltaSince({}))
  await Promise.all(Array.from({ length: n }, (_, i) => a.inc(`c${i}`, 1)))
  return a
}

describe('snapshots written in slices (format 2)', () => {
  it('a snapshot of the live map taken while writes go on recovers every write, and writes finish before it does', async () => {
    const dir = await tempDir(cleanup, 'tally-chunks-')
    const store = diskStore(dir)
    const a = await filled(store, 3 * CHUNK_ENTRIES)
    let snapshotDone = false
    const snap = store.snapshot(mapSource(a.map), []).then(() => {
      snapshotDone = true
    })
    // Writes and new counters while the slices are read and written: each
    // append must complete on its own, not queue behind the whole snapshot.
    let doneBefore = 0
    for (let i = 0; i < 40; i++) {
      await a.inc(i % 2 === 0 ? `c${i * 97}` : `new${i}`, 5)
      if (!snapshotDone) doneBefore++
    }
    await snap
    expect(doneBefore).toBeGreaterThan(0)
    await a.inc('after', 1)
    await store.close()
    await rawDisk(dir, async (db) => {
      const chunks = await keysIn(db, { gte: CHUNK_PREFIX, lt: CHUNK_END })
      // Counters of the two replicas in several chunks.
      expect(chunks.length).toBeGreaterThanOrEqual(2)
    })
    const b = await Driver.open(diskStore(dir))
    expect(b.map.digest()).toBe(a.map.digest())
    expect(b.map.state()).toEqual(a.map.state())
    await b.store.close()
  })

  it('is skipped when nothing was logged since the last one (changedSinceSnapshot)', async () => {
    const dir = await tempDir(cleanup, 'tally-chunks-')
    const a = await Driver.open(memStore(dir))
    const store = a.store as LevelStore
    expect(store.changedSinceSnapshot()).toBe(false)
    await a.inc('x')
    expect(store.changedSinceSnapshot()).toBe(true)
    const snap = store.snapshot(mapSource(a.map), [])
    // Logged after the covered position: still to snapshot afterwards.
    const late = a.inc('y')
    await Promise.all([snap, late])
    expect(store.changedSinceSnapshot()).toBe(true)
    await store.snapshot(mapSource(a.map), [])
    expect(store.changedSinceSnapshot()).toBe(false)
    await store.close()
    const b = await Driver.open(memStore(dir))
    expect((b.store as LevelStore).changedSinceSnapshot()).toBe(false)
    expect(b.map.value('y')).toBe(1)
    await b.store.close()
  })

  it('keeps idempotency records in chunks of their own', async () => {
    const dir = await tempDir(cleanup, 'tally-chunks-')
    const now = 5_000_000
    const a = await Driver.open(memStore(dir, { now: () => now }))
    await a.inc('c', 1)
    const records = Array.from({ length: 5000 }, (_, i) => ({
      key: `k${i}`,
      name: 'c',
      op: 'increment' as const,
      amount: 1,
      value: 1,
      at: now - i,
      replica: 'peer.1',
      seq: i + 1,
      attempt: 1,
    }))
    await a.store.snapshot(mapSource(a.map), records)
    await a.store.close()
    const b = await Driver.open(memStore(dir, { now: () => now }))
    expect(b.recovered.idempotency).toHaveLength(5000)
    await b.store.close()
  })

  it('refuses to start on a damaged or missing chunk (TALLY_WAL_CORRUPT), and ignores chunks of an unfinished snapshot', async () => {
    const dir = await tempDir(cleanup, 'tally-chunks-')
    const a = await filled(memStore(dir), CHUNK_ENTRIES)
    const records = [{ key: 'k1', name: 'c0', op: 'increment' as const, amount: 1, value: 3, at: Date.now() }]
    await a.store.snapshot(mapSource(a.map), records)
    await a.store.close()
    const db = dbs.get(`${dir}/db`) as unknown as WalDb
    await db.open()
    const manifest = await db.get(SNAPSHOT_KEY)
    const chunks = await keysIn(db, { gte: CHUNK_PREFIX, lt: CHUNK_END })
    // Two or more counter chunks, then the record chunk.
    expect(chunks.length).toBeGreaterThanOrEqual(3)
    const recordChunk = chunks[chunks.length - 1] as string
    const gen = Number.parseInt((chunks[0] as string).slice(2, 16), 16)
    // An unfinished later snapshot left a chunk behind: ignored, then deleted.
    await db.put(chunkKey(gen + 1, 0), new Uint8Array([1, 2, 3, 4, 5]))
    await db.close()
    const b = await Driver.open(memStore(dir))
    expect(b.map.digest()).toBe(a.map.digest())
    await b.store.close()
    await db.open()
    expect(await keysIn(db, chunkRange(gen + 1))).toEqual([])
    // Copies (a Buffer's slice() would be a view), each with its last byte flipped.
    const intact = async (key: string) => new Uint8Array((await db.get(key)) as Uint8Array)
    const damaged = (bytes: Uint8Array) => {
      const bad = new Uint8Array(bytes)
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff
      return bad
    }
    const damagedMessage = expect.stringMatching(/snapshot .* is damaged .*checksum/)
    // A damaged counter chunk: found as the chunks are read into the map, which the start waits for.
    const first = await intact(chunks[0] as string)
    await db.put(chunks[0] as string, damaged(first))
    await db.close()
    const opened = memStore(dir)
    const rec = await opened.open('n1')
    await expect(rebuildCounters(rec)).rejects.toMatchObject({
      code: 'TALLY_WAL_CORRUPT',
      message: damagedMessage,
    })
    await opened.close()
    // A damaged record chunk: found at open (its bytes are kept, checked once).
    await db.open()
    await db.put(chunks[0] as string, first)
    const recordBytes = await intact(recordChunk)
    await db.put(recordChunk, damaged(recordBytes))
    await db.close()
    await expect(memStore(dir).open('n1')).rejects.toMatchObject({
      code: 'TALLY_WAL_CORRUPT',
      message: damagedMessage,
    })
    // A missing counter chunk (the middle one or the last one), or a missing record chunk: found at open.
    await db.open()
    await db.put(recordChunk, recordBytes)
    expect(await db.get(SNAPSHOT_KEY)).toEqual(manifest)
    for (const gone of [chunks[1], chunks[chunks.length - 2], recordChunk] as string[]) {
      const held = await intact(gone)
      await db.batch([{ type: 'del', key: gone }])
      await db.close()
      const index = Number.parseInt(gone.slice(-8), 16)
      await expect(memStore(dir).open('n1')).rejects.toMatchObject({
        code: 'TALLY_WAL_CORRUPT',
        message: expect.stringMatching(new RegExp(`chunk ${index} is missing|chunks expected`)),
      })
      await db.open()
      await db.put(gone, held)
    }
    await db.close()
    // Mended: the same state again.
    const c = await Driver.open(memStore(dir))
    expect(c.map.digest()).toBe(a.map.digest())
    expect(c.recovered.idempotency.map((r) => r.key)).toEqual(['k1'])
    await c.store.close()
  })
})
