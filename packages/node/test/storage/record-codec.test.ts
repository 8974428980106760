import { CounterMap } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type DeltaOp,
  decodeBatch,
  decodeFrame,
  decodeIdentity,
  decodeMarker,
  decodeSnapshot,
  encodeBatch,
  encodeFrame,
  walKey,
  walSeqOf,
} from '../../src/storage/record-codec.js'

function ops(): DeltaOp[] {
  const m = new CounterMap('a.1')
  m.increment('x', 3)
  const d1 = m.deltaFor('a.1', 0)
  m.decrement('y', 2)
  const d2 = m.deltaFor('a.1', 1)
  return [
    { kind: 'local', delta: d1 },
    {
      kind: 'local',
      delta: d2,
      idem: { key: 'k1', name: 'y', op: 'decrement', amount: 2, value: -2, at: 5 },
    },
    { kind: 'remote', delta: { ranges: [['b.7', 0, 1]], entries: [['x', 'b.7', 2 ** 53 - 1, 0, 1]] } },
    { kind: 'local', delta: m.deltaSince({}) }, // two entries: stored in the general form
  ]
}

describe('record codec', () => {
  it('round-trips a WAL batch, keeping exact safe integers', () => {
    const o = ops()
    const back = decodeBatch(7, encodeBatch(7, o))
    expect(back).toEqual({ ops: o })
  })

  it('stores the common one-op local delta compactly', () => {
    const [one] = ops()
    const general = encodeBatch(1, [{ kind: 'remote', delta: one!.delta }])
    const compact = encodeBatch(1, [one!])
    expect(compact.length).toBeLessThan(general.length * 0.75)
    expect(decodeBatch(1, compact)).toEqual({ ops: [one] })
  })

  it('refuses a batch stored under another key', () => {
    expect(decodeBatch(8, encodeBatch(7, ops()))).toEqual({ reason: 'not a WAL batch for this key' })
  })

  it('reports any corrupted byte or truncation, never a payload', () => {
    const frame = encodeBatch(1, ops())
    fc.assert(
      fc.property(fc.nat(frame.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = frame.slice()
        bad[at] = bad[at]! ^ x
        expect(decodeFrame(bad).ok).toBe(false)
      }),
    )
    fc.assert(
      fc.property(fc.nat(frame.length - 1), (len) => {
        expect(decodeFrame(frame.subarray(0, len)).ok).toBe(false)
      }),
    )
    expect(decodeFrame(undefined).ok).toBe(false)
  })

  it('orders WAL keys numerically and parses them back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 53 - 1 }),
        fc.integer({ min: 1, max: 2 ** 53 - 1 }),
        (a, b) => {
          expect(walSeqOf(walKey(a))).toBe(a)
          expect(Math.sign(walKey(a).localeCompare(walKey(b), 'en'))).toBe(Math.sign(a - b))
          expect(walKey(a) < walKey(b)).toBe(a < b)
        },
      ),
    )
    expect(walSeqOf('w:xyz')).toBeNull()
    expect(walSeqOf('snap')).toBeNull()
    expect(walSeqOf(walKey(1).replace('1', 'g'))).toBeNull()
  })

  it('round-trips snapshots, identities and markers; rejects foreign shapes', () => {
    const state = { vv: { 'a.1': 2 }, counters: { x: { 'a.1': [3, 0, 1] as [number, number, number] } } }
    const snap = { covered: 4, at: 9, state, idempotency: [] }
    expect(decodeSnapshot(encodeFrame(snap))).toEqual({ snapshot: snap })
    expect('reason' in decodeSnapshot(encodeFrame({ covered: 'x' }))).toBe(true)
    const id = { nodeId: 'n1', incarnation: 123, createdAt: 1 }
    expect(decodeIdentity(encodeFrame(id))).toEqual({ identity: id })
    expect('reason' in decodeIdentity(encodeFrame({ nodeId: 'n1', incarnation: 1.5 }))).toBe(true)
    const marker = { pid: 1, bootId: 'b', durability: 'sync' as const, at: 3 }
    expect(decodeMarker(encodeFrame(marker))).toEqual(marker)
    expect(decodeMarker(undefined)).toBeNull()
    // A damaged marker still means "did not close cleanly".
    expect(decodeMarker(new Uint8Array([1, 2, 3]))).not.toBeNull()
  })
})
