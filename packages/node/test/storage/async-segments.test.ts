// `--durability async` logs to append-only segment files (storage/segment-log.ts)
// instead of LevelDB batches. These tests drive LevelStore on memory-level
// (so a "crash" can abandon a store without its LevelDB lock in the way)
// with the segments on the real disk, plus one run on LevelDB.
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore, type LevelStoreOptions } from '../../src/storage/level-store.js'
import { SEGMENT_MAGIC } from '../../src/storage/segment-codec.js'
import { isStoreError } from '../../src/storage/store-errors.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { Driver } from '../support/store-driver.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const BOOT = 'boot-A'

/** A data dir whose LevelDB part lives in memory (kept across opens) and whose segments are on disk. */
async function dataDir() {
  const dir = await tempDir(cleanup, 'tally-async-')
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  const make = (extra: Partial<LevelStoreOptions> = {}) =>
    new LevelStore({
      dataDir: dir,
      bootId: BOOT,
      durability: 'async',
      openDb: () => db as unknown as WalDb,
      ...extra,
    })
  const segments = async () => (await readdir(join(dir, 'log'))).sort()
  const walKeys = async () => {
    const closed = db.status !== 'open'
    if (closed) await db.open()
    const keys: string[] = []
    for await (const k of db.keys({ gte: 'w:', lt: 'w;' })) keys.push(k)
    if (closed) await db.close()
    return keys
  }
  return { dir, make, segments, walKeys }
}

describe('async durability: segment log', () => {
  it('appends go to a segment file, not LevelDB; a crash (store abandoned) loses no acknowledged write and keeps the replica', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let i = 0; i < 20; i++) await a.inc('c', i + 1)
    await Promise.all([a.inc('d'), a.inc('d'), a.inc('e', 5)])
    expect(await d.walKeys()).toEqual([])
    const [seg] = await d.segments()
    expect(seg).toBe('00000000000001.seg')
    expect((await stat(join(d.dir, 'log', seg!))).size).toBeGreaterThan(SEGMENT_MAGIC.length)
    expect(a.store.stats).toMatchObject({ syncs: 0, ops: 23 })
    // No close: what kill -9 leaves (the running marker stays; same boot).
    const b = await Driver.open(d.make())
    expect(b.map.state()).toEqual(a.map.state())
    expect(b.recovered.identity).toEqual(a.recovered.identity)
    expect(b.recovered.warnings).toEqual([])
    await b.inc('c')
    expect(await d.segments()).toHaveLength(2) // a new file per open
    await b.store.close()
    const c = await Driver.open(d.make())
    expect(c.map.value('c')).toBe(211)
    expect(c.map.value('d')).toBe(2)
    await c.store.close()
  })

  it('writes submitted by separate callbacks of one event-loop turn share one append (one per request before)', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    const batches = () => a.store.stats?.batches ?? Number.NaN
    const before = batches()
    // One write per I/O callback, as HTTP requests on separate connections arrive.
    const writes = await new Promise<Array<Promise<unknown>>>((resolve) => {
      const ps: Array<Promise<unknown>> = []
      for (let i = 0; i < 8; i++)
        setImmediate(() => {
          ps.push(a.inc(`t${i}`))
          if (ps.length === 8) resolve(ps)
        })
    })
    await Promise.all(writes)
    expect(batches() - before).toBe(1)
    expect(a.store.stats?.ops).toBe(8)
    await a.store.close()
    const b = await Driver.open(d.make())
    for (let i = 0; i < 8; i++) expect(b.map.value(`t${i}`)).toBe(1)
    await b.store.close()
  })

  it('a snapshot deletes the segment files it covers; the log stays bounded over many writes and snapshots', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) await a.inc(`k${i % 7}`)
      await a.store.snapshot(a.map.state(), a.idem)
      await a.inc('after')
      // The cleanup after a snapshot runs off the write path: wait for it through a close/reopen below.
    }
    await a.store.close()
    const files = await d.segments()
    expect(files.length).toBeLessThanOrEqual(2)
    const b = await Driver.open(d.make())
    expect(b.map.state()).toEqual(a.map.state())
    expect(b.recovered.identity).toEqual(a.recovered.identity)
    await b.store.snapshot(b.map.state(), b.idem)
    await b.store.close()
    // Everything is in the snapshot now: no segment holds anything the next open needs.
    expect(await d.segments()).toEqual([])
  })

  it('a torn last record after a reboot (power loss mid-write) is cut with a warning and a new incarnation; everything before it is kept', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let i = 0; i < 5; i++) await a.inc()
    const path = join(d.dir, 'log', (await d.segments())[0]!)
    const size = (await stat(path)).size
    await a.inc()
    await truncate(path, (await stat(path)).size - 3) // the 6th record loses its last bytes
    const b = await Driver.open(d.make({ bootId: 'boot-B' }))
    expect(b.map.value('c')).toBe(5)
    expect(b.recovered.warnings.join('\n')).toMatch(/damaged at w:0+6 .*cut 1 record/)
    expect(b.recovered.identity.incarnation).toBeGreaterThan(a.recovered.identity.incarnation)
    expect((await stat(path)).size).toBe(size) // the torn bytes are gone from the file
    await b.inc()
    await b.store.close()
    const c = await Driver.open(d.make({ bootId: 'boot-B' }))
    expect(c.recovered.warnings).toEqual([])
    expect(c.map.value('c')).toBe(6)
    expect(c.recovered.identity).toEqual(b.recovered.identity)
    await c.store.close()
  })

  it('a torn last record after a process crash on the same boot (kill -9 mid-write) is cut and the incarnation kept', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let i = 0; i < 5; i++) await a.inc()
    const path = join(d.dir, 'log', (await d.segments())[0]!)
    const size = (await stat(path)).size
    await a.inc()
    await truncate(path, (await stat(path)).size - 3) // the write of the 6th was interrupted
    const b = await Driver.open(d.make())
    expect(b.map.value('c')).toBe(5)
    expect(b.recovered.warnings.join('\n')).toMatch(/damaged at w:0+6 .*cut 1 record/)
    expect(b.recovered.identity).toEqual(a.recovered.identity)
    expect((await stat(path)).size).toBe(size)
    await b.inc()
    await b.store.close()
  })

  it('damage that is not a torn end keeps forcing a new incarnation on the same boot', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    await a.inc('c', 3)
    const path = join(d.dir, 'log', (await d.segments())[0]!)
    await a.inc('c', 1)
    // The second record's frame damaged in place (checksum mismatch, whole length): not a torn end.
    const bytes = await readFile(path)
    bytes[bytes.length - 2]! ^= 0xff
    await writeFile(path, bytes)
    const b = await Driver.open(d.make())
    expect(b.map.value('c')).toBe(3)
    expect(b.recovered.identity.incarnation).toBeGreaterThan(a.recovered.identity.incarnation)
    await b.store.close()
  })

  it('a damaged record followed by intact ones refuses to start with TALLY_WAL_CORRUPT naming the batch', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let i = 0; i < 4; i++) await a.inc()
    const path = join(d.dir, 'log', (await d.segments())[0]!)
    const bytes = await readFile(path)
    bytes[SEGMENT_MAGIC.length + 12 + 6]! ^= 0xff // inside the first record's frame
    await writeFile(path, bytes)
    const err = await d
      .make()
      .open('n1')
      .catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_WAL_CORRUPT')).toBe(true)
    expect((err as Error).message).toMatch(/w:0+1 .*checksum/)
  })

  it('garbage appended after the last record is cut like a torn tail', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    await a.inc('c', 3)
    await appendFile(join(d.dir, 'log', (await d.segments())[0]!), new Uint8Array([1, 2, 3]))
    const b = await Driver.open(d.make())
    expect(b.map.value('c')).toBe(3)
    expect(b.recovered.warnings.join('\n')).toMatch(/damaged at w:0+2 .*cut 1 record/)
    await b.store.close()
  })

  it('switching durability keeps every write: async, then sync (LevelDB batches), then async again, with crashes between', async () => {
    const d = await dataDir()
    const a = await Driver.open(d.make())
    for (let i = 0; i < 3; i++) await a.inc('a')
    const b = await Driver.open(d.make({ durability: 'sync' })) // after a crash
    expect(b.map.value('a')).toBe(3)
    for (let i = 0; i < 4; i++) await b.inc('b')
    expect((await d.walKeys()).length).toBeGreaterThan(0)
    await b.store.close()
    const c = await Driver.open(d.make())
    for (let i = 0; i < 5; i++) await c.inc('c')
    const e = await Driver.open(d.make({ durability: 'sync' })) // after a crash again
    expect([e.map.value('a'), e.map.value('b'), e.map.value('c')]).toEqual([3, 4, 5])
    expect(e.recovered.warnings).toEqual([])
    expect(e.recovered.identity).toEqual(a.recovered.identity)
    await e.store.snapshot(e.map.state(), e.idem)
    await e.store.close()
    expect(await d.segments()).toEqual([])
    expect(await d.walKeys()).toEqual([])
  })
})

describe('async durability on LevelDB', () => {
  it('200 concurrent appends, then a clean restart, recover the same state and keep the replica', async () => {
    const dir = await tempDir(cleanup, 'tally-async-')
    const make = () => new LevelStore({ dataDir: dir, bootId: BOOT, durability: 'async' })
    const a = await Driver.open(make())
    await Promise.all(Array.from({ length: 200 }, (_, i) => a.inc(`k${i % 10}`)))
    await a.store.close()
    const b = await Driver.open(make())
    expect(b.map.state()).toEqual(a.map.state())
    expect(b.recovered.identity).toEqual(a.recovered.identity)
    await b.store.close()
  })
})
