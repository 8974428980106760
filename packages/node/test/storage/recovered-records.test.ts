// Key records of a recovery are decoded on first read of Recovered.idempotency
// (after the map is built), not at open: open checks the record chunks'
// checksums only, and the retention rule still sees the snapshot's records
// before the log's.
import { CounterMap } from '@tally/crdt'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { encodeFrame } from '../../src/storage/record-codec.js'
import { recoveredRecords } from '../../src/storage/recovered-records.js'
import { CHUNK_END, CHUNK_PREFIX, encodeChunk } from '../../src/storage/snapshot-codec.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const NOW = 1_700_000_000_000

const rec = (key: string, seq: number, extra: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
  key,
  name: 'c',
  op: 'increment',
  amount: 1,
  value: seq,
  at: NOW - 1000,
  replica: 'r.1',
  seq,
  attempt: 1,
  ...extra,
})

function memStore(): { make: () => LevelStore; db: MemoryLevel<string, Uint8Array>; warned: string[] } {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  const warned: string[] = []
  const logger = {
    warn: (_o: unknown, m: string) => warned.push(m),
    info: () => {},
    debug: () => {},
    error: () => {},
  }
  const make = () =>
    new LevelStore({
      dataDir: '/nonexistent/mem',
      bootId: 'b',
      now: () => NOW,
      openDb: () => db as unknown as WalDb,
      logger: logger as never,
    })
  return { make, db, warned }
}

describe('recovered key records', () => {
  it('keep the snapshot copy first, then the log: a logged compensated copy marks it, a logged duplicate does not replace it', () => {
    const read = recoveredRecords({
      snapshot: [rec('A', 1)],
      chunks: [encodeChunk({ records: [rec('B', 2), rec('C', 3)] })],
      logged: [rec('B', 2, { value: 99 }), rec('C', 3, { compensated: true }), rec('D', 4)],
      now: NOW,
      ttl: 10_000,
      badChunk: (i, why) => new Error(`chunk ${i}: ${why}`),
    })
    const got = read()
    expect(read()).toBe(got) // decoded once
    const byKey = Object.fromEntries(got.map((r) => [r.key, r]))
    expect(Object.keys(byKey).sort()).toEqual(['A', 'B', 'C', 'D'])
    expect(byKey.B?.value).toBe(2)
    expect(byKey.C?.compensated).toBe(true)
  })

  it('leave out what is past retention, keep one copy per application and give them oldest first, from chunks out of time order', () => {
    const at = (ago: number) => ({ at: NOW - ago })
    const read = recoveredRecords({
      snapshot: [],
      chunks: [
        encodeChunk({
          records: [rec('new', 1, at(100)), rec('old', 2, at(9_000)), rec('gone', 3, at(20_000))],
        }),
        encodeChunk({ records: [rec('mid', 4, at(5_000)), rec('twice', 5, at(7_000))] }),
      ],
      logged: [
        rec('twice', 5, { ...at(7_000), compensated: true }),
        rec('twice', 6, { ...at(50), replica: 'r.2' }),
        rec('late', 7, at(30_000)),
        rec('fresh', 8, at(10)),
      ],
      now: NOW,
      ttl: 10_000,
      badChunk: (i, why) => new Error(`chunk ${i}: ${why}`),
    })
    const got = read()
    expect(got.map((r) => [r.key, r.seq])).toEqual([
      ['old', 2],
      ['twice', 5],
      ['mid', 4],
      ['new', 1],
      ['twice', 6],
      ['fresh', 8],
    ])
    expect(got.find((r) => r.seq === 5)?.compensated).toBe(true)
    expect(got.filter((r) => r.compensated === true)).toHaveLength(1)
  })

  it('a chunk that holds no records throws the error badChunk makes for it (records are never dropped)', () => {
    const read = recoveredRecords({
      snapshot: [],
      chunks: [encodeChunk({ records: [rec('B', 2)] }), encodeFrame({ nope: 1 })],
      logged: [],
      now: NOW,
      ttl: 10_000,
      badChunk: (i, why) => new Error(`chunk ${i}: ${why}`),
    })
    expect(() => read()).toThrow(/^chunk 1: /)
  })

  it('a record chunk with an intact checksum but no records refuses the start with TALLY_WAL_CORRUPT when the records are read (a lost record would let a retry count twice)', async () => {
    const { make, db, warned } = memStore()
    const s = make()
    const r = await s.open('n1')
    const m = new CounterMap(r.identity.replicaId)
    m.increment('c', 2)
    const records = Array.from({ length: 5 }, (_, i) => rec(`K${i}`, i + 1))
    await s.snapshot(mapSource(m), records)
    await s.close()
    await db.open()
    const it = db.iterator({ gte: CHUNK_PREFIX, lt: CHUNK_END })
    const keys: string[] = []
    for (let rows = await it.nextv(100); rows.length > 0; rows = await it.nextv(100))
      for (const [k] of rows) keys.push(k)
    await it.close()
    // Counter chunk(s) first, then the one record chunk: replace it by a checksummed non-record frame.
    await db.put(keys[keys.length - 1] as string, encodeFrame({ j: 'not tuples' }))
    await db.close()
    const again = make()
    const back = await again.open('n1')
    expect(() => back.idempotency).toThrow(expect.objectContaining({ code: 'TALLY_WAL_CORRUPT' }))
    expect(warned).toEqual([])
    await again.close()
  })
})
