// The node's table of limits: the O(1) digest equals for equal contents
// whatever the order of merges and GCs, merge reports exactly what grew, and
// GC leaves no empty limit behind.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LIMIT_SKEW_MS, LimitTable } from '../../src/limits/limit-table.js'
import type { BucketTuple } from '../../src/wire/limit-messages.js'

const W = 1_000
const T0 = 1_000_000
const tupleArb: fc.Arbitrary<BucketTuple> = fc
  .tuple(
    fc.constantFrom('a', 'b'),
    fc.integer({ min: 0, max: 4 }),
    fc.constantFrom('r1', 'r2', 'r3'),
    fc.integer({ min: 1, max: 9 }),
  )
  .map(([name, k, r, n]) => [name, W, T0 + k * W, r, n])

const sorted = (ts: BucketTuple[]) => ts.map((t) => JSON.stringify(t)).sort()

describe('LimitTable', () => {
  it('equal contents give equal digests, whatever the merge order and duplicates', () => {
    fc.assert(
      fc.property(fc.array(tupleArb, { maxLength: 30 }), fc.integer(), (ts, seed) => {
        const now = T0
        const a = new LimitTable('self')
        a.merge(ts, now)
        const shuffled = [...ts, ...ts].sort(
          (x, y) =>
            ((JSON.stringify(x).length * 31 + seed) % 7) - ((JSON.stringify(y).length * 17 + seed) % 5),
        )
        const b = new LimitTable('other')
        for (const t of shuffled) b.merge([t], now)
        expect(sorted(b.tuples())).toEqual(sorted(a.tuples()))
        expect(b.digest()).toBe(a.digest())
      }),
    )
  })

  it('merge returns exactly the tuples that grew something', () => {
    const t = new LimitTable('self')
    expect(t.merge([['a', W, T0, 'r1', 3]], T0)).toHaveLength(1)
    expect(
      t.merge(
        [
          ['a', W, T0, 'r1', 2],
          ['a', W, T0, 'r1', 3],
        ],
        T0,
      ),
    ).toEqual([])
    expect(t.merge([['a', W, T0, 'r1', 4]], T0)).toEqual([['a', W, T0, 'r1', 4]])
  })

  it('after GC the digest is that of a table holding only the survivors, and empty limits are gone', () => {
    fc.assert(
      fc.property(fc.array(tupleArb, { maxLength: 30 }), fc.integer({ min: 0, max: 6 * W }), (ts, dt) => {
        const t = new LimitTable('self')
        t.merge(ts, T0)
        const now = T0 + dt
        t.gc(now)
        const fresh = new LimitTable('self')
        fresh.merge(t.tuples(), T0)
        expect(t.digest()).toBe(fresh.digest())
        expect(t.buckets).toBe(fresh.buckets)
        const h = Math.floor((now - LIMIT_SKEW_MS) / W) * W - W
        for (const x of t.tuples()) expect(x[2]).toBeGreaterThanOrEqual(h)
        expect(t.size).toBe(new Set(t.tuples().map((x) => x[0])).size)
      }),
    )
  })

  it('a refused hit on an unknown limit leaves no limit behind', () => {
    const t = new LimitTable('self')
    expect(t.hit('a', 1, W, 1, T0).decision.allowed).toBe(true)
    expect(t.hit('a', 1, W, 1, T0 + 1).decision.allowed).toBe(false)
    expect(t.size).toBe(1)
    expect(t.hit('b', 1, W, 2, T0).decision.allowed).toBe(false)
    expect(t.size).toBe(1)
    expect(t.hit('fresh', 1, W, 1, T0).tuple).toEqual(['fresh', W, T0, 'self', 1])
  })
})
