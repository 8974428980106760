// The log row of a local keyed write (row kind 4, key-row-codec.ts): written
// for a one-op local write with its own key record, read back to the same
// operation and record, smaller than the row it replaces; rows in the older
// form still recover; a damaged row is refused, and the store refuses to
// open on it as on any other damaged row.
import type { Delta } from '@tally/crdt'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import type { KeyRecord } from '../../src/idempotency/key-ledger.js'
import { KEY_ROW, keyRow, readKeyRow } from '../../src/storage/key-row-codec.js'
import { LevelStore } from '../../src/storage/level-store.js'
import { decodeBatch, encodeBatch, encodeFrame, walKey } from '../../src/storage/record-codec.js'
import { StoreError } from '../../src/storage/store-errors.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const NOW = 1_700_000_000_000

const one = (r: string, seq: number, name = 'c', p = seq, n = 0): Delta => ({
  ranges: [[r, seq - 1, seq]],
  entries: [[name, r, p, n, seq]],
})

const kr = (replica: string, seq: number, extra: Partial<KeyRecord> = {}): KeyRecord => ({
  key: `key-${seq}`,
  name: 'c',
  op: 'increment',
  amount: 1,
  value: seq,
  at: NOW - 1000,
  replica,
  seq,
  attempt: 1,
  ...extra,
})

function memDb(): { db: MemoryLevel<string, Uint8Array>; make: () => LevelStore } {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  return {
    db,
    make: () =>
      new LevelStore({
        dataDir: '/nonexistent/mem',
        bootId: 'b',
        now: () => NOW,
        openDb: () => db as unknown as WalDb,
      }),
  }
}

// The row as a build before kind 4 wrote it: the single-op row with the record as a map.
function oldFrame(seq: number, delta: Delta, idem: KeyRecord): Uint8Array {
  const [name, r, p, n, s] = delta.entries[0]!
  return encodeFrame({ s: seq, o: [[2, name, r, p, n, s, idem]] })
}

describe('the keyed-write log row', () => {
  it('stores a one-op local write with its own key record as one positional row, a third of the old bytes', () => {
    const rec = kr('n1.1', 7, { key: 'b-4242-123456', name: 'default', value: 7, attempt: 2 })
    const delta = one('n1.1', 7, 'default', 7)
    const frame = encodeBatch(3, [{ kind: 'local', delta, idem: rec }])
    const old = oldFrame(3, delta, rec)
    expect(frame.length).toBeLessThan(old.length * 0.55)
    expect(decodeBatch(3, frame)).toEqual({ ops: [{ kind: 'local', delta, idem: rec }] })
    expect(keyRow(['default', 'n1.1', 7, 0, 7], rec)?.[0]).toBe(KEY_ROW)
  })

  it('round-trips decrements, negative values and exact safe integers', () => {
    const big = 2 ** 53 - 1
    const rec = kr('n1.1', 9, { op: 'decrement', amount: big, value: -big, at: big })
    const delta = one('n1.1', 9, 'c', 0, big)
    expect(decodeBatch(1, encodeBatch(1, [{ kind: 'local', delta, idem: rec }]))).toEqual({
      ops: [{ kind: 'local', delta, idem: rec }],
    })
  })

  it('keeps the older rows for records that are not exactly the operation’s own', () => {
    const delta = one('n1.1', 5)
    const legacy = { key: 'old', name: 'c', op: 'increment' as const, amount: 1, value: 5, at: NOW }
    for (const idem of [
      kr('n1.1', 5, { compensated: true }), // a compensation's record names the operation it cancels
      kr('n1.1', 4), // another seq
      kr('n2.1', 5), // another replica
      kr('n1.1', 5, { name: 'd' }),
      legacy, // written before keys were replicated
    ]) {
      expect(keyRow(['c', 'n1.1', 5, 0, 5], idem)).toBeNull()
      const back = decodeBatch(1, encodeBatch(1, [{ kind: 'local', delta, idem }]))
      expect(back).toEqual({ ops: [{ kind: 'local', delta, idem }] })
    }
  })

  it('refuses a malformed keyed-write row (a dropped record could count a retry twice)', () => {
    const good = keyRow(['c', 'n1.1', 1, 0, 1], kr('n1.1', 1))!
    expect(readKeyRow(good)).not.toBeNull()
    const bad: unknown[][] = [
      good.slice(0, 10), // too short
      [...good, 0], // too long
      good.map((x, i) => (i === 7 ? 0 : x)), // amount 0
      good.map((x, i) => (i === 7 ? 1.5 : x)), // fractional amount
      good.map((x, i) => (i === 6 ? 42 : x)), // key not a string
      good.map((x, i) => (i === 9 ? 'soon' : x)), // time not a number
      good.map((x, i) => (i === 5 ? '1' : x)), // seq not a number
    ]
    for (const row of bad) {
      expect(readKeyRow(row)).toBeNull()
      expect(decodeBatch(2, encodeFrame({ s: 2, o: [row] }))).toEqual({ reason: 'malformed keyed-write row' })
    }
  })

  it('a restart recovers key records from new rows and from old-format rows in the same log', async () => {
    const { db, make } = memDb()
    const s = make()
    const me = (await s.open('n1')).identity.replicaId
    await s.appendLocal(one(me, 1), kr(me, 1, { attempt: 3 }))
    await s.appendLocal(one(me, 2, 'c', 2), kr(me, 2))
    await s.close()
    // A batch the build before wrote (the old row), after the new ones.
    await db.open()
    await db.put(walKey(3), oldFrame(3, one(me, 3, 'c', 3), kr(me, 3)))
    const s2 = make()
    const back = await s2.open('n1')
    expect(back.identity.replicaId).toBe(me)
    expect(back.idempotency.map((r) => [r.key, r.seq, r.attempt]).sort()).toEqual([
      ['key-1', 1, 3],
      ['key-2', 2, 1],
      ['key-3', 3, 1],
    ])
    expect(back.state?.vv).toEqual({ [me]: 3 })
    await s2.close()
  })

  it('the store refuses to open on a damaged keyed-write row in the middle of the log, as on any damaged row', async () => {
    for (const damage of ['checksum', 'shape'] as const) {
      const { db, make } = memDb()
      const s = make()
      const me = (await s.open('n1')).identity.replicaId
      await s.appendLocal(one(me, 1), kr(me, 1))
      await s.appendLocal(one(me, 2, 'c', 2), kr(me, 2))
      await s.close()
      await db.open()
      const first = (await db.get(walKey(1)))!
      const bad =
        damage === 'checksum'
          ? first.map((b, i) => (i === first.length - 3 ? b ^ 0xff : b))
          : encodeFrame({ s: 1, o: [[KEY_ROW, 'c', me, 1, 0, 1, 'key-1', 0, 1, NOW, 1]] })
      await db.put(walKey(1), bad)
      const err = await make()
        .open('n1')
        .then(
          () => null,
          (e: unknown) => e,
        )
      expect(err).toBeInstanceOf(StoreError)
      expect((err as StoreError).code).toBe('TALLY_WAL_CORRUPT')
    }
  })
})
