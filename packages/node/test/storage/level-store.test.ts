import { readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CounterMap } from '@tally/crdt'
import { Cleanup, du, tempDir, until } from '@tally/kit/testing'
import { Level } from 'level'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { encodeFrame, RUNNING_KEY, walKey } from '../../src/storage/record-codec.js'
import { isStoreError } from '../../src/storage/store-errors.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { type Backend, Driver } from '../support/store-driver.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const BOOT = 'boot-A'

const leveldb: Backend = (dataDir, extra = {}) => new LevelStore({ dataDir, bootId: BOOT, ...extra })

// memory-level keeps its data across close/open of the same instance: one instance per location.
const memories = new Map<string, MemoryLevel<string, Uint8Array>>()
const memory: Backend = (dataDir, extra = {}) =>
  new LevelStore({
    dataDir,
    bootId: BOOT,
    openDb: (loc) => {
      let db = memories.get(loc)
      if (!db) {
        db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
        memories.set(loc, db)
      }
      return db as unknown as WalDb
    },
    ...extra,
  })

/** Raw access to a store's database, for damaging it (store closed). */
async function raw(backend: string, dataDir: string, fn: (db: WalDb) => Promise<void>): Promise<void> {
  const loc = join(dataDir, 'db')
  const db =
    backend === 'leveldb'
      ? (new Level<string, Uint8Array>(loc, {
          keyEncoding: 'utf8',
          valueEncoding: 'view',
        }) as unknown as WalDb)
      : (memories.get(loc) as unknown as WalDb)
  await db.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

async function walKeys(db: WalDb): Promise<string[]> {
  const it = db.iterator({ gte: 'w:', lt: 'w;' })
  const out: string[] = []
  for (let rows = await it.nextv(1000); rows.length > 0; rows = await it.nextv(1000))
    out.push(...rows.map((r) => r[0]))
  await it.close()
  return out
}

for (const [name, make] of [
  ['leveldb', leveldb],
  ['memory-level', memory],
] as const) {
  describe(`LevelStore conformance (${name})`, () => {
    it('starts empty, then recovers identity, state and order-free deltas after a restart', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      expect(a.recovered.state).toBeNull()
      expect(a.recovered.warnings).toEqual([])
      expect(a.recovered.identity.replicaId).toBe(`n1.${a.recovered.identity.incarnation}`)
      await Promise.all(Array.from({ length: 200 }, (_, i) => a.inc(`c${i % 7}`, i + 1)))
      const peer = new CounterMap('peer.1')
      peer.increment('c1', 1000)
      await a.remote(peer.deltaFor('peer.1', 0))
      await a.store.close()

      const b = await Driver.open(make(dir))
      expect(b.recovered.identity).toEqual(a.recovered.identity)
      expect(b.recovered.warnings).toEqual([])
      expect(b.map.state()).toEqual(a.map.state())
      expect(b.map.digest()).toBe(a.map.digest())
      // New local writes continue the replica's sequence rather than reusing it.
      await b.inc('c0')
      expect(b.map.seq).toBe(201)
      await b.store.close()
    })

    it('appendLocal after close is refused with TALLY_STORE_CLOSED; close is idempotent', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      await a.store.close()
      await a.store.close()
      await expect(a.inc()).rejects.toMatchObject({ code: 'TALLY_STORE_CLOSED' })
    })

    it('a wiped data dir starts a new, never-before-used incarnation; merged totals stay exact', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      for (let i = 0; i < 5; i++) await a.inc()
      await a.store.close()
      // Peers learnt everything of replica 1.
      const peer = new CounterMap('peer.1')
      peer.merge(a.map.state())
      // An incarnation is ms·1024 + 10 random bits: a reopen within the same millisecond could
      // draw a smaller one. Reopen once the clock has passed the first open's millisecond.
      const firstMs = Math.floor(a.recovered.identity.incarnation / 1024)
      await until(() => Date.now() > firstMs, { what: 'the clock to pass the first open', timeoutMs: 1000 })

      await rm(dir, { recursive: true, force: true })
      memories.delete(join(dir, 'db'))
      const b = await Driver.open(make(dir))
      expect(b.recovered.state).toBeNull()
      expect(b.recovered.identity.replicaId).not.toBe(a.recovered.identity.replicaId)
      expect(b.recovered.identity.incarnation).toBeGreaterThan(a.recovered.identity.incarnation)
      for (let i = 0; i < 3; i++) await b.inc()
      peer.merge(b.map.state())
      b.map.merge(peer.state())
      expect(peer.value('c')).toBe(8)
      expect(b.map.value('c')).toBe(8)
      await b.store.close()
    })

    it('refuses to open another node id’s data dir', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      await (await Driver.open(make(dir), 'n1')).store.close()
      await expect(make(dir).open('n2')).rejects.toMatchObject({ code: 'TALLY_DATA_DIR_MISMATCH' })
    })

    it('cuts a damaged tail record, warns, keeps every op before it, and starts a new incarnation', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      for (let i = 0; i < 20; i++) await a.inc()
      await a.store.close()
      await raw(name, dir, async (db) => {
        const keys = await walKeys(db)
        expect(keys).toHaveLength(20)
        await db.put(walKey(21), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
      })
      const b = await Driver.open(make(dir))
      expect(b.recovered.warnings.join('\n')).toMatch(/damaged at w:0+15.*cut 1 record/)
      expect(b.recovered.warnings.join('\n')).toMatch(/new incarnation/)
      expect(b.map.value('c')).toBe(20)
      expect(b.recovered.identity.replicaId).not.toBe(a.recovered.identity.replicaId)
      await b.inc()
      await b.store.close()
      const c = await Driver.open(make(dir))
      expect(c.recovered.warnings).toEqual([])
      expect(c.map.value('c')).toBe(21)
      await c.store.close()
    })

    it('refuses to start on damage in the middle of the log, or cuts it under policy truncate', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      for (let i = 0; i < 10; i++) await a.inc()
      await a.store.close()
      await raw(name, dir, (db) => db.put(walKey(4), new Uint8Array([0, 0, 0, 0, 1])))
      const err = await make(dir)
        .open('n1')
        .catch((e: unknown) => e)
      expect(isStoreError(err, 'TALLY_WAL_CORRUPT')).toBe(true)
      expect((err as Error).message).toMatch(/middle at w:0+4/)
      // The failed open released the lock: a retry with the operator's consent works.
      const b = await Driver.open(make(dir, { corruption: 'truncate' }))
      expect(b.map.value('c')).toBe(3)
      expect(b.recovered.warnings.join('\n')).toMatch(/cut 7 record/)
      await b.store.close()
    })

    it('refuses to start when a batch is missing in the middle', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir))
      for (let i = 0; i < 6; i++) await a.inc()
      await a.store.close()
      await raw(name, dir, (db) => db.batch([{ type: 'del', key: walKey(3) }]))
      await expect(make(dir).open('n1')).rejects.toMatchObject({
        code: 'TALLY_WAL_CORRUPT',
        message: expect.stringMatching(/batch 3 is missing/),
      })
    })

    it('snapshot: drops covered batches, keeps later ones, recovers the same state', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const store = make(dir, { snapshotEveryOps: 50 })
      const a = await Driver.open(store)
      for (let i = 0; i < 60; i++) await a.inc(`c${i % 3}`)
      expect(store.needsSnapshot()).toBe(true)
      const snap = store.snapshot(a.map.state(), [])
      const later = Promise.all([a.inc('late'), a.inc('late')])
      await snap
      await later
      expect(store.needsSnapshot()).toBe(false)
      await store.close()
      await raw(name, dir, async (db) => expect((await walKeys(db)).length).toBeLessThanOrEqual(2))
      const b = await Driver.open(make(dir))
      expect(b.map.state()).toEqual(a.map.state())
      expect(b.map.value('late')).toBe(2)
      await b.store.close()
    })

    it('idempotency records survive restarts (log and snapshot) within retention only', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      let now = 1_000_000
      const opts = { idempotencyTtl: 10_000, now: () => now }
      const a = await Driver.open(make(dir, opts))
      await a.inc('c', 5, { key: 'old', at: now })
      now += 6_000
      await a.inc('c', 7, { key: 'new', at: now })
      await a.inc('c', 9, { key: 'new', at: now + 1 }) // a duplicate key keeps the first answer
      await a.store.close()

      const b = await Driver.open(make(dir, opts))
      expect(b.recovered.idempotency.map((r) => [r.key, r.amount, r.value])).toEqual([
        ['old', 5, 5],
        ['new', 7, 12],
      ])
      // Snapshot truncates the log; it carries the live records.
      await b.store.snapshot(b.map.state(), b.recovered.idempotency)
      await b.store.close()
      await raw(name, dir, async (db) => expect(await walKeys(db)).toEqual([]))
      now += 5_000 // 'old' is 11 s old now, past the 10 s retention
      const c = await Driver.open(make(dir, opts))
      expect(c.recovered.idempotency.map((r) => r.key)).toEqual(['new'])
      expect(c.map.value('c')).toBe(21)
      await c.store.close()
    })

    it('after an unclean shutdown across a reboot: new incarnation, recovered state kept', async () => {
      const dir = await tempDir(cleanup, 'tally-store-')
      const a = await Driver.open(make(dir, { durability: 'async' }))
      for (let i = 0; i < 4; i++) await a.inc()
      await a.store.close()
      // What a crash leaves behind: the running marker, written under another boot.
      const marker = { pid: 1, bootId: 'boot-OLD', durability: 'async', at: 0 }
      await raw(name, dir, (db) => db.put(RUNNING_KEY, encodeFrame(marker)))
      const b = await Driver.open(make(dir, { durability: 'async' }))
      expect(b.recovered.identity.replicaId).not.toBe(a.recovered.identity.replicaId)
      expect(b.recovered.warnings.join('\n')).toMatch(/did not shut down cleanly/)
      expect(b.map.value('c')).toBe(4)
      await b.inc()
      expect(b.map.value('c')).toBe(5)
      await b.store.close()
      // Same boot (a process crash): the incarnation is kept.
      await raw(name, dir, (db) => db.put(RUNNING_KEY, encodeFrame({ ...marker, bootId: BOOT })))
      const c = await Driver.open(make(dir, { durability: 'async' }))
      expect(c.recovered.identity).toEqual(b.recovered.identity)
      expect(c.map.value('c')).toBe(5)
      await c.store.close()
    })
  })
}

describe('LevelStore after a failed log write', () => {
  it('rejects that write and every later write and snapshot with TALLY_STORE_FAILED; the log stays intact', async () => {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
    // memory-level takes no `sync` option (it has no disk); the store passes one, as to classic-level.
    const inner = db as unknown as WalDb
    let failNext = false
    const flaky: WalDb = {
      open: () => db.open(),
      close: () => db.close(),
      get: (k) => db.get(k),
      put: (k, v, o) => (failNext ? Promise.reject(new Error('EIO: disk on fire')) : inner.put(k, v, o)),
      batch: (ops, o) => inner.batch(ops, o),
      clear: (r) => db.clear(r),
      iterator: (r) => db.iterator(r),
      keys: (r) => inner.keys(r),
    }
    const dir = await tempDir(cleanup, 'tally-store-')
    const make = () => new LevelStore({ dataDir: dir, bootId: BOOT, openDb: () => flaky })
    const a = await Driver.open(make())
    await a.inc()
    failNext = true
    await expect(a.inc()).rejects.toMatchObject({ code: 'TALLY_STORE_FAILED', message: /disk on fire/ })
    failNext = false
    await expect(a.inc()).rejects.toMatchObject({ code: 'TALLY_STORE_FAILED' })
    await expect(a.store.snapshot(a.map.state(), [])).rejects.toMatchObject({ code: 'TALLY_STORE_FAILED' })
    await a.store.close()
    const b = await Driver.open(make())
    expect(b.map.value('c')).toBe(1)
    expect(b.recovered.warnings).toEqual([])
    await b.store.close()
  })
})

describe('LevelStore on LevelDB', () => {
  it('group commit: 500 concurrent sync appends take far fewer than 500 fsyncs', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const store = leveldb(dir)
    const a = await Driver.open(store)
    await Promise.all(Array.from({ length: 500 }, () => a.inc()))
    const { batches, syncs, ops } = store.stats
    expect(ops).toBe(500)
    expect(syncs).toBe(batches)
    expect(batches).toBeLessThan(50)
    await store.close()
    const again = await Driver.open(leveldb(dir))
    expect(again.map.value('c')).toBe(500)
    await again.store.close()
  })

  it('remote-only batches are not fsynced on their own; async mode never fsyncs appends', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const s = leveldb(dir)
    const a = await Driver.open(s)
    const peer = new CounterMap('p.1')
    peer.increment('x')
    await a.remote(peer.deltaFor('p.1', 0))
    expect(s.stats).toMatchObject({ batches: 1, syncs: 0 })
    await s.close()
    const s2 = leveldb(dir, { durability: 'async' })
    const b = await Driver.open(s2)
    await Promise.all([b.inc(), b.inc()])
    expect(s2.stats.syncs).toBe(0)
    await s2.close()
  })

  it('a second open of a locked data dir fails with TALLY_DATA_DIR_LOCKED naming the path', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const first = leveldb(dir)
    await first.open('n1')
    const err = await leveldb(dir)
      .open('n1')
      .catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_DATA_DIR_LOCKED')).toBe(true)
    expect((err as Error).message).toContain(dir)
    await first.close()
    const again = leveldb(dir)
    await again.open('n1')
    await again.close()
  })

  it('a data dir that cannot be created fails with TALLY_DATA_DIR_UNREADABLE naming it', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const file = join(dir, 'not-a-dir')
    await writeFile(file, 'x')
    const err = await leveldb(join(file, 'data'))
      .open('n1')
      .catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_DATA_DIR_UNREADABLE')).toBe(true)
    expect((err as Error).message).toContain(join(file, 'data'))
  })

  it('a torn LevelDB log file (truncated tail) opens, keeping a prefix of the operations', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const a = await Driver.open(leveldb(dir))
    for (let i = 0; i < 100; i++) await a.inc()
    await a.store.close()
    const logs = (await readdir(join(dir, 'db'))).filter((f) => f.endsWith('.log'))
    expect(logs.length).toBeGreaterThan(0)
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(join(dir, 'db', logs.at(-1)!)))
    await truncate(join(dir, 'db', logs.at(-1)!), size - 150)
    const b = await Driver.open(leveldb(dir))
    const v = b.map.value('c')
    expect(v).toBeLessThan(100)
    expect(v).toBeGreaterThan(90)
    // The survivors are a prefix: a full, contiguous run of this replica's operations.
    expect(b.map.summary()[a.map.replica]).toBe(v)
    await b.inc()
    await b.store.close()
  })

  it('snapshots hold more than 65 535 counters (msgpack map sizes) and idempotency records', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const a = await Driver.open(leveldb(dir))
    const m = a.map
    for (let i = 0; i < 70_000; i++) m.increment(`c${i}`, 1 + (i % 3))
    const idem = [{ key: 'k', name: 'c1', op: 'increment' as const, amount: 2, value: 2, at: Date.now() }]
    await a.store.snapshot(m.state(), idem)
    await a.store.close()
    const b = await Driver.open(leveldb(dir))
    expect(b.map.size).toBe(70_000)
    expect(b.map.digest()).toBe(m.digest())
    expect(b.recovered.idempotency).toEqual(idem)
    await b.store.close()
  })

  it('snapshots keep disk use bounded over many operations and recover the same state', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const open = () => Driver.open(leveldb(dir, { snapshotEveryOps: 2000 }))
    let d = await open()
    const sizes: number[] = []
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 2500 }, (_, i) => d.inc(`c${i % 50}`)))
      if (d.store.needsSnapshot?.()) await d.store.snapshot(d.map.state(), [])
      const before = d.map.state()
      await d.store.close()
      sizes.push(await du(dir))
      d = await open()
      expect(d.map.state()).toEqual(before)
    }
    await d.store.close()
    // 30 000 operations: the directory did not grow with them (without truncation it grows ~40 kB a round).
    expect(Math.max(...sizes.slice(6))).toBeLessThan(Math.max(...sizes.slice(0, 6)) * 1.3)
    expect(sizes.at(-1)!).toBeLessThan(sizes[2]! * 1.3)
    expect(d.map.value('c0')).toBe(600)
  })
})
