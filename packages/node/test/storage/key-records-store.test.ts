// Key records in the LevelDB store: learnt (remote) records persist with their
// delta, a copy logged as compensated supersedes the first, snapshots carry
// them all, and records written before keys were replicated still load.
import type { Delta } from '@tally/crdt'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { liveIdempotency } from '../../src/idempotency/idempotency-retention.js'
import type { KeyRecord } from '../../src/idempotency/key-ledger.js'
import { LevelStore } from '../../src/storage/level-store.js'
import { decodeBatch, encodeBatch, encodeFrame } from '../../src/storage/record-codec.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const NOW = 1_700_000_000_000

function memStore(): () => LevelStore {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  return () =>
    new LevelStore({
      dataDir: '/nonexistent/mem',
      bootId: 'b',
      now: () => NOW,
      openDb: () => db as unknown as WalDb,
    })
}

const one = (r: string, seq: number, name = 'c', p = seq): Delta => ({
  ranges: [[r, seq - 1, seq]],
  entries: [[name, r, p, 0, seq]],
})

const kr = (key: string, replica: string, seq: number, extra: Partial<KeyRecord> = {}): KeyRecord => ({
  key,
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

describe('key records in LevelStore', () => {
  it('remote records and the compensated copy of an own record survive a restart (log, then snapshot)', async () => {
    const make = memStore()
    const s = make()
    const rec = await s.open('n2')
    const me = rec.identity.replicaId
    const own = kr('K', me, 1, { attempt: 2 })
    await s.appendLocal(one(me, 1), own)
    await s.appendRemote(one('n1.1', 1), [kr('K', 'n1.1', 1), kr('J', 'n1.1', 2)])
    await s.appendRemote({ ranges: [], entries: [] }, [kr('L', 'n3.1', 4)]) // records alone
    await s.appendLocal(one(me, 2, 'c', 1), { ...own, compensated: true })
    await s.close()

    const s2 = make()
    const back = await s2.open('n2')
    const byId = (rs: typeof back.idempotency) =>
      rs.map((r) => `${r.key}/${r.replica}/${r.seq}/${r.attempt}/${r.compensated === true}`).sort()
    expect(byId(back.idempotency)).toEqual(
      ['J/n1.1/2/1/false', `K/${me}/1/2/true`, 'K/n1.1/1/1/false', 'L/n3.1/4/1/false'].sort(),
    )
    await s2.snapshot(back.state!, back.idempotency)
    await s2.close()
    const s3 = make()
    const again = await s3.open('n2')
    expect(byId(again.idempotency)).toEqual(byId(back.idempotency))
    await s3.close()
  })

  it('a record logged before keys were replicated still decodes (no replica, seq, attempt)', () => {
    const legacy = { key: 'old', name: 'c', op: 'increment', amount: 2, value: 2, at: NOW }
    const frame = encodeFrame({
      s: 1,
      o: [
        [2, 'c', 'n1.1', 2, 0, 1, legacy],
        [1, one('n2.1', 1)],
      ],
    })
    const d = decodeBatch(1, frame)
    expect('ops' in d && d.ops[0]).toMatchObject({ kind: 'local', idem: legacy })
    expect('ops' in d && d.ops[0]?.kind === 'local' && d.ops[0].idem).not.toHaveProperty('replica')
    expect('ops' in d && d.ops[1]).toEqual({ kind: 'remote', delta: one('n2.1', 1) })
  })

  it('round-trips remote rows with records, dropping malformed ones', () => {
    const good = kr('K', 'n1.1', 1)
    const frame = encodeBatch(3, [{ kind: 'remote', delta: one('n1.1', 1), records: [good] }])
    expect(decodeBatch(3, frame)).toEqual({
      ops: [{ kind: 'remote', delta: one('n1.1', 1), records: [good] }],
    })
    const bad = encodeFrame({ s: 3, o: [[1, one('n1.1', 1), [{ key: 1 }, good]]] })
    expect(decodeBatch(3, bad)).toEqual({ ops: [{ kind: 'remote', delta: one('n1.1', 1), records: [good] }] })
  })

  it('retention keeps one copy per application; a compensated copy wins whatever the order', () => {
    const a = kr('K', 'n1.1', 1)
    const b = kr('K', 'n2.1', 5)
    const live = liveIdempotency(
      [a, b, { ...b, compensated: true }, a, kr('gone', 'n1.1', 2, { at: 0 })],
      NOW,
      60_000,
    )
    expect(live).toHaveLength(2)
    expect(live.find((r) => r.replica === 'n2.1')?.compensated).toBe(true)
    expect(liveIdempotency([{ ...b, compensated: true }, b], NOW, 60_000)).toEqual([
      { ...b, compensated: true },
    ])
  })
})
