// Reset marks, TTLs, applied expiries and keyed answers in the LevelDB store:
// they survive a restart from the log and from a snapshot, a damaged row is
// refused, and keyed answers past retention are dropped at open.

import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import type { MarksRecord } from '../../src/resets/marks-record.js'
import { LevelStore } from '../../src/storage/level-store.js'
import { decodeBatch, encodeBatch, encodeFrame } from '../../src/storage/record-codec.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { plainSource } from '../../src/storage/snapshot-source.js'
import type { WalDb } from '../../src/storage/wal-db.js'

let now = 1_700_000_000_000

function memStore(): () => LevelStore {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  return () =>
    new LevelStore({
      dataDir: '/nonexistent/mem',
      bootId: 'b',
      now: () => now,
      idempotencyTtl: 60_000,
      openDb: () => db as unknown as WalDb,
    })
}

const rec = (over: Partial<MarksRecord> = {}): MarksRecord => ({ tuples: [], applied: [], keys: [], ...over })

describe('reset marks in LevelStore', () => {
  it('marks, TTLs, applied versions and keyed answers come back from the log and from a snapshot', async () => {
    const make = memStore()
    let s = make()
    await s.open('n1')
    await s.appendMarks(rec({ tuples: [['c', { 'n1.1': 5 }, { 'n1.1': 1 }, 0]] }), true)
    await s.appendMarks(rec({ tuples: [['c', { 'n2.1': 3 }, {}, [now + 5000, 'n2.1', now]]] }), false)
    await s.appendMarks(
      rec({
        applied: [['t', [now - 1, 'n1.1', now - 10]]],
        keys: [{ key: 'K', name: 'c', op: 'delete', ttlMs: 0, answer: { deleted: true }, at: now }],
      }),
      true,
    )
    // No close: a crash. The log alone must hold it.
    s = make()
    const after = (await s.open('n1')).marks
    expect(after?.tuples).toEqual([['c', { 'n1.1': 5, 'n2.1': 3 }, { 'n1.1': 1 }, [now + 5000, 'n2.1', now]]])
    expect(after?.applied).toEqual([['t', [now - 1, 'n1.1', now - 10]]])
    expect(after?.keys.map((k) => k.key)).toEqual(['K'])

    // A snapshot carries them (the log it covers is dropped).
    const src = { ...plainSource({ vv: {}, counters: {} }), marks: () => after as MarksRecord }
    await s.snapshot(src, [])
    await s.close()
    now += 61_000 // past the keys' retention
    s = make()
    const again = (await s.open('n1')).marks
    expect(again?.tuples).toEqual(after?.tuples)
    expect(again?.applied).toEqual(after?.applied)
    expect(again?.keys).toEqual([])
    await s.close()
  })

  it('a drop logged after a snapshot removes the counter from it; what is logged after the drop stays; the floor is kept', async () => {
    const make = memStore()
    let s = make()
    await s.open('n1')
    const d = (name: string, p: number, n: number, seq: number) => ({
      ranges: [['r', seq - 1, seq]] as [string, number, number][],
      entries: [[name, 'r', p, n, seq]] as [string, string, number, number, number][],
    })
    await s.appendLocal(d('gone', 5, 0, 1))
    await s.appendLocal(d('kept', 1, 0, 2))
    await s.appendLocal(d('back', 2, 0, 3))
    const state = {
      vv: { r: 3 },
      counters: {
        gone: { r: [5, 0, 1] as [number, number, number] },
        kept: { r: [1, 0, 2] as [number, number, number] },
        back: { r: [2, 0, 3] as [number, number, number] },
      },
    }
    await s.snapshot(
      {
        ...plainSource(state),
        marks: () =>
          rec({
            tuples: [
              ['gone', { r: 5 }, {}, 0],
              ['back', { r: 2 }, {}, 0],
            ],
          }),
      },
      [],
    )
    // After the snapshot: both collected (floor 5), then `back` written again from the floor.
    await s.appendMarks(rec({ dropped: ['gone', 'back'], floor: 5 }), true)
    await s.appendMarks(rec({ tuples: [['back', { r: 5 }, { r: 5 }, 0]] }), true)
    await s.appendLocal(d('back', 6, 5, 6))
    // A crash: the snapshot plus the log.
    s = make()
    const got = await s.open('n1')
    const { map } = await rebuildCounters(got)
    expect(map.names()).toEqual(['back', 'kept'])
    expect(map.counterState('back')).toEqual({ p: { r: 6 }, n: { r: 5 } })
    expect(got.marks?.tuples).toEqual([['back', { r: 5 }, { r: 5 }, 0]])
    expect(got.marks?.floor).toBe(5)
    await s.close()
  })

  it('a local marks change is synced like a local write; a remote one is not', async () => {
    const make = memStore()
    const s = make()
    await s.open('n1')
    await s.appendMarks(rec({ tuples: [['a', { r: 1 }, {}, 0]] }), false)
    expect(s.stats.syncs).toBe(0)
    await s.appendMarks(rec({ tuples: [['a', { r: 2 }, {}, 0]] }), true)
    expect(s.stats.syncs).toBe(1)
    await s.close()
  })

  it('a malformed marks row is reported, never decoded into state', () => {
    const good = encodeBatch(1, [
      { kind: 'marks', marks: rec({ tuples: [['a', { r: 1 }, {}, 0]] }), local: true },
    ])
    expect(decodeBatch(1, good)).toEqual({
      ops: [{ kind: 'marks', marks: rec({ tuples: [['a', { r: 1 }, {}, 0]] }), local: true }],
    })
    for (const bad of [
      { t: [['a', { r: -1 }, {}, 0]] },
      { t: [['a b', {}, {}, 0]] },
      { t: [['a', {}, {}, [1.5, 'r', 1]]] },
      { a: [['a', 'x']] },
      { k: [{ key: 'K' }] },
    ]) {
      const frame = encodeFrame({ s: 1, o: [[3, bad, 1]] }) // a hand-built row [3, record, local]
      expect(decodeBatch(1, frame)).toHaveProperty('reason')
    }
  })
})
