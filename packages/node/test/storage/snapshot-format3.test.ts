import { CounterMap, packColumns } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { decodeFrame, encodeFrame, SNAPSHOT_KEY } from '../../src/storage/record-codec.js'
import { readRecordTuples, recordTuples } from '../../src/storage/record-tuples.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { CHUNK_END, CHUNK_PREFIX, decodeChunk, encodeChunk } from '../../src/storage/snapshot-codec.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const dbs = new Map<string, MemoryLevel<string, Uint8Array>>()
function memStore(dataDir: string): LevelStore {
  return new LevelStore({
    dataDir,
    bootId: 'boot-A',
    openDb: (loc) => {
      let db = dbs.get(loc)
      if (!db) {
        db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
        dbs.set(loc, db)
      }
      return db as unknown as WalDb
    },
  })
}

const records: IdempotencyRecord[] = [
  { key: 'k1', name: 'a', op: 'increment', amount: 3, value: 3, at: 10, replica: 'r.1', seq: 4, attempt: 1 },
  {
    key: 'k2',
    name: 'b:c',
    op: 'decrement',
    amount: 2,
    value: -2,
    at: 11,
    replica: 'r.2',
    seq: 9,
    attempt: 2,
    compensated: true,
  },
  // Written before keys were replicated: no replica, seq or attempt.
  { key: 'k3', name: 'a', op: 'increment', amount: 1, value: 4, at: 12 },
]

describe('snapshot format 3: packed counter chunks and record tuples', () => {
  it('a packed chunk decodes to the same columns, and merges to the same state', () => {
    const m = new CounterMap('r.1')
    for (let i = 0; i < 50; i++) m.increment(`c${i % 17}`, i + 1)
    m.merge({ vv: {}, counters: { c3: { 'peer.9': [5, 2, 7] }, zz: { 'peer.9': [1, 0, 8] } } })
    const { columns } = m.packedColumns(0, 1000)
    const d = decodeChunk(encodeChunk({ packed: columns }))
    expect('packed' in d && d.packed).toEqual(columns)
    const copy = new CounterMap('x')
    if ('packed' in d) copy.mergePacked(d.packed)
    expect(copy.state().counters).toEqual(m.state().counters)
  })

  it('a packed chunk of the wrong shape is reported, never thrown', () => {
    const good = packColumns({ names: ['c'], replicas: ['a'], rows: [0, 0, 1, 0, 1] })
    const rec = { b: good.nameBytes, l: good.nameLengths, r: ['a'] }
    const u8 = (a: ArrayLike<number>) => new Uint8Array(a)
    for (const y of [
      5,
      {
        ...rec,
        k: u8([1, 0, 0]),
        e: u8([0, 0, 0, 0]),
        v: u8(new Uint8Array(new Float64Array([1, 0, 1]).buffer)),
      },
      { ...rec, k: u8([1, 0, 0, 0]), e: u8([0, 0, 0, 0]), v: u8([1, 2, 3]) },
      { ...rec, k: [1], e: u8([0, 0, 0, 0]), v: u8(new Uint8Array(new Float64Array([1, 0, 1]).buffer)) },
      { b: good.nameBytes, l: good.nameLengths },
    ])
      expect(decodeChunk(encodeFrame({ y }))).toEqual({ reason: expect.any(String) })
  })

  it('records round-trip as tuples (legacy and compensated ones included); a malformed one is dropped', () => {
    const t = recordTuples(records)
    expect(t.r).toEqual(['r.1', 'r.2'])
    expect(readRecordTuples(t)).toEqual(records)
    const d = decodeChunk(encodeChunk({ records }))
    expect('records' in d && d.records).toEqual(records)
    const bad = {
      r: t.r,
      x: [...t.x, ['k9', 'a', 2, 1, 1, 1], 'x', ['k8', 'a', 0, 1, 1], [7, 'a', 0, 1, 1, 1]],
    }
    expect(readRecordTuples(bad)).toEqual(records)
    // A replica index that is not one: kept as a record without replica.
    expect(readRecordTuples({ r: ['r.1'], x: [['k5', 'a', 0, 1, 1, 1, 'length', 3, 1, 0]] })).toEqual([
      { key: 'k5', name: 'a', op: 'increment', amount: 1, value: 1, at: 1 },
    ])
    expect(readRecordTuples(5)).toBeNull()
    expect(decodeChunk(encodeFrame({ j: { r: 1, x: [] } }))).toEqual({ reason: expect.any(String) })
  })

  it('a snapshot is written in format 3 (manifest v 3, chunks y and j) and opens with its state and keys', async () => {
    const dir = await tempDir(cleanup, 'tally-format3-')
    const store = memStore(dir)
    const rec = await store.open('n1')
    const m = new CounterMap(rec.identity.replicaId)
    for (let i = 0; i < 3000; i++) m.increment(`c${i}`, 1)
    m.merge({ vv: {}, counters: { c5: { 'peer.1': [4, 1, 2] } } })
    await store.snapshot(
      mapSource(m),
      records.map((r) => ({ ...r, at: Date.now() })),
    )
    await store.close()
    const db = dbs.get(`${dir}/db`) as unknown as WalDb
    await db.open()
    const manifest = decodeFrame(await db.get(SNAPSHOT_KEY))
    expect(manifest.ok && (manifest.value as { v: number }).v).toBe(3)
    // The counters the chunks hold, for the restart to size the map's name index at once.
    expect(manifest.ok && (manifest.value as { n: number }).n).toBe(3000)
    const it = db.iterator({ gte: CHUNK_PREFIX, lt: CHUNK_END })
    const kinds = new Set<string>()
    for (let rows = await it.nextv(100); rows.length > 0; rows = await it.nextv(100))
      for (const [, v] of rows) {
        const f = decodeFrame(v)
        if (f.ok) for (const k of Object.keys(f.value as object)) kinds.add(k)
      }
    await it.close()
    await db.close()
    expect([...kinds].sort()).toEqual(['j', 'y'])
    const again = memStore(dir)
    const rec2 = await again.open('n1')
    expect(rec2.sliceCounters).toBe(3000)
    const reserve = vi.spyOn(CounterMap.prototype, 'reserve')
    const { map } = await rebuildCounters(rec2)
    expect(reserve).toHaveBeenCalledWith(3000)
    reserve.mockRestore()
    expect(map.digest()).toBe(m.digest())
    expect(rec2.idempotency.map((r) => r.key).sort()).toEqual(['k1', 'k2', 'k3'])
    await again.close()
  })

  it('a manifest without a counter count (written before it had one), or with one that is not a count, opens the same state with no size hint', async () => {
    const dir = await tempDir(cleanup, 'tally-format3-n-')
    const store = memStore(dir)
    const rec = await store.open('n1')
    const m = new CounterMap(rec.identity.replicaId)
    for (let i = 0; i < 5000; i++) m.increment(`c${i}`, 1)
    await store.snapshot(mapSource(m), [])
    await store.close()
    const db = dbs.get(`${dir}/db`) as unknown as WalDb
    await db.open()
    const frame = decodeFrame(await db.get(SNAPSHOT_KEY))
    if (!frame.ok) throw new Error(frame.reason)
    const { n, ...before } = frame.value as { n: number; chunks: number }
    expect(n).toBe(5000)
    await db.close()
    // Absent, not a count, or past what the chunks can hold (a chunk ends at 2 048 entries).
    const cases: Array<[unknown, number | undefined]> = [
      [undefined, undefined],
      [-1, undefined],
      [2.5, undefined],
      ['5000', undefined],
      [2 ** 60, undefined],
      [10 ** 9, before.chunks * 2048],
    ]
    for (const [hint, want] of cases) {
      await db.open()
      await db.put(SNAPSHOT_KEY, encodeFrame(hint === undefined ? before : { ...before, n: hint }))
      await db.close()
      const again = memStore(dir)
      const back = await again.open('n1')
      expect(back.sliceCounters).toBe(want)
      const { map } = await rebuildCounters(back)
      expect(map.digest()).toBe(m.digest())
      expect(map.size).toBe(5000)
      await again.close()
    }
  })

  it('a packed chunk with a checksum but invalid contents fails the rebuild with TALLY_STATE_INVALID', async () => {
    const dir = await tempDir(cleanup, 'tally-format3-bad-')
    const store = memStore(dir)
    const rec = await store.open('n1')
    const m = new CounterMap(rec.identity.replicaId)
    m.increment('fine', 1)
    await store.snapshot(mapSource(m), [])
    await store.close()
    const db = dbs.get(`${dir}/db`) as unknown as WalDb
    await db.open()
    const it = db.iterator({ gte: CHUNK_PREFIX, lt: CHUNK_END })
    const [[key]] = (await it.nextv(1)) as [[string, Uint8Array]]
    await it.close()
    const bad = packColumns({ names: ['fine'], replicas: ['a'], rows: [0, 0, 1, 0, 1] })
    bad.nameBytes[0] = 0x20 // a space: not a counter name
    await db.put(key, encodeChunk({ packed: bad }))
    await db.close()
    const again = memStore(dir)
    const rec2 = await again.open('n1')
    await expect(rebuildCounters(rec2)).rejects.toMatchObject({ code: 'TALLY_STATE_INVALID' })
    await again.close()
  })
})
