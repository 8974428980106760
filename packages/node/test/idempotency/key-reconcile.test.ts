import { describe, expect, it } from 'vitest'
import type { KeyRecord } from '../../src/idempotency/key-ledger.js'
import { compareApplications, reconcile } from '../../src/idempotency/key-reconcile.js'

const app = (replica: string, seq: number, attempt: number, extra: Partial<KeyRecord> = {}): KeyRecord => ({
  key: 'k',
  name: 'c',
  op: 'increment',
  amount: 3,
  value: 3,
  at: 1,
  replica,
  seq,
  attempt,
  ...extra,
})

describe('reconcile', () => {
  const A1 = app('a.1', 10, 1)
  const B2 = app('b.1', 4, 2)
  const C2 = app('c.1', 1, 2)
  const B1 = app('b.1', 9, 1)
  const A1later = app('a.1', 11, 1)

  it.each([
    // [applications, self, winner, compensated by self]
    { apps: [A1, B2], self: 'b.1', winner: A1, comp: [B2] },
    { apps: [B2, A1], self: 'b.1', winner: A1, comp: [B2] }, // order learnt does not matter
    { apps: [A1, B2], self: 'a.1', winner: A1, comp: [] }, // the winner never compensates
    { apps: [A1, B2], self: 'c.1', winner: A1, comp: [] }, // a bystander never compensates
    { apps: [B2, C2], self: 'c.1', winner: B2, comp: [C2] }, // same attempt: replica id decides
    { apps: [B2, C2], self: 'b.1', winner: B2, comp: [] },
    { apps: [A1, B1], self: 'b.1', winner: A1, comp: [B1] },
    { apps: [A1, A1later], self: 'a.1', winner: A1, comp: [A1later] }, // same replica twice: seq decides
    { apps: [A1, B2, C2], self: 'c.1', winner: A1, comp: [C2] },
    { apps: [A1, B2, C2], self: 'b.1', winner: A1, comp: [B2] },
  ])('$self among $apps.length applications', ({ apps, self, winner, comp }) => {
    const v = reconcile(apps, self)
    expect(v.kind).toBe('duplicate')
    if (v.kind !== 'duplicate') return
    expect(v.winner).toBe(winner)
    expect(v.compensate).toEqual(comp)
  })

  it('an application already compensated is not compensated again', () => {
    const done = app('b.1', 4, 2, { compensated: true })
    expect(reconcile([A1, done], 'b.1')).toEqual({ kind: 'duplicate', winner: A1, compensate: [] })
  })

  it('one application or none: nothing to do', () => {
    expect(reconcile([], 'a.1')).toEqual({ kind: 'single' })
    expect(reconcile([A1], 'a.1')).toEqual({ kind: 'single' })
  })

  it('different requests under one key are a mismatch: nobody compensates', () => {
    expect(reconcile([A1, app('b.1', 4, 2, { amount: 4 })], 'b.1')).toEqual({ kind: 'mismatch' })
    expect(reconcile([A1, app('b.1', 4, 2, { op: 'decrement' })], 'b.1')).toEqual({ kind: 'mismatch' })
    expect(reconcile([A1, app('b.1', 4, 2, { name: 'd' })], 'b.1')).toEqual({ kind: 'mismatch' })
  })

  it('every node agrees: exactly the non-winners compensate, each on its own replica', () => {
    const apps = [app('c.1', 5, 1), app('a.1', 2, 3), app('b.1', 7, 1), app('b.1', 8, 2)]
    const all = ['a.1', 'b.1', 'c.1'].flatMap((self) => {
      const v = reconcile(apps, self)
      return v.kind === 'duplicate' ? v.compensate : []
    })
    expect(all.map((a) => `${a.replica}:${a.seq}`).sort()).toEqual(['a.1:2', 'b.1:8', 'c.1:5'])
  })

  it('orders by attempt, then replica, then seq', () => {
    expect(compareApplications(app('z.1', 9, 1), app('a.1', 1, 2))).toBeLessThan(0)
    expect(compareApplications(app('a.1', 9, 2), app('b.1', 1, 2))).toBeLessThan(0)
    expect(compareApplications(app('a.1', 1, 2), app('a.1', 2, 2))).toBeLessThan(0)
    expect(compareApplications(A1, A1)).toBe(0)
  })
})
