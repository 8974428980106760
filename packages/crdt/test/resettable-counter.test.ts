import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, PNCounter, ResettableCounter, type ResettableCounterState } from '../src/index.js'
import { canonRecord, own } from './support/canonical.js'

const REPLICAS = ['a', 'b', 'c'] as const
const ids = fc.constantFrom('a', 'b', 'c', 'constructor')
// A valid state: each total with a mark at or below it.
const covered = fc
  .tuple(fc.nat({ max: 2 ** 40 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([t, f]) => [t, Math.floor(t * f)] as const)
const pair = fc.dictionary(ids, covered, { maxKeys: 4 })
const stateArb: fc.Arbitrary<ResettableCounterState> = fc.record({ p: pair, n: pair }).map(({ p, n }) => {
  const pick = (t: typeof p, k: 0 | 1) => Object.fromEntries(Object.entries(t).map(([r, v]) => [r, v[k]]))
  return { p: pick(p, 0), n: pick(n, 0), mark: { p: pick(p, 1), n: pick(n, 1) } }
})
const canon = (c: ResettableCounter) => {
  const s = c.state()
  return [s.p, s.n, s.mark.p, s.mark.n].map(canonRecord).join('|')
}
const merged = (...s: ResettableCounterState[]) => {
  const c = new ResettableCounter('obs')
  for (const x of s) c.merge(x)
  return c
}
const sumAbove = (t: Record<string, number>, m: Record<string, number>) =>
  Object.entries(t).reduce((acc, [r, v]) => acc + Math.max(0, v - own(m, r)), 0)

/** One step of a history over three replicas. */
type Step =
  | { kind: 'inc' | 'dec'; at: number; amount: number }
  | { kind: 'reset'; at: number }
  | { kind: 'sync'; from: number; to: number }
const at = fc.nat(REPLICAS.length - 1)
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('inc' as const, 'dec' as const),
      at,
      amount: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: at, to: at }) },
)

/**
 * Reference model: what each replica knows, as sets of operation ids and
 * reset ids. An operation counts at a replica iff it knows the operation and
 * none of the resets it knows had observed it.
 */
function model(steps: readonly Step[]) {
  const amounts: number[] = []
  const observedBy: Array<Set<number>> = [] // reset id → operations it had seen
  const ops = REPLICAS.map(() => new Set<number>())
  const resets = REPLICAS.map(() => new Set<number>())
  const counters = REPLICAS.map((r) => new ResettableCounter(r))
  for (const s of steps) {
    if (s.kind === 'sync') {
      for (const o of ops[s.from] as Set<number>) ops[s.to]?.add(o)
      for (const r of resets[s.from] as Set<number>) resets[s.to]?.add(r)
      counters[s.to]?.merge(counters[s.from]?.state())
    } else if (s.kind === 'reset') {
      observedBy.push(new Set(ops[s.at]))
      resets[s.at]?.add(observedBy.length - 1)
      counters[s.at]?.reset()
    } else {
      amounts.push(s.kind === 'inc' ? s.amount : -s.amount)
      ops[s.at]?.add(amounts.length - 1)
      if (s.kind === 'inc') counters[s.at]?.increment(s.amount)
      else counters[s.at]?.decrement(s.amount)
    }
  }
  const expected = REPLICAS.map((_, i) => {
    let v = 0
    for (const o of ops[i] as Set<number>) {
      const seen = [...(resets[i] as Set<number>)].some((r) => observedBy[r]?.has(o))
      if (!seen) v += amounts[o] as number
    }
    return v
  })
  return { counters, expected }
}

describe('ResettableCounter', () => {
  it('keeps the documented example working', () => {
    const a = new ResettableCounter('node-a')
    const b = new ResettableCounter('node-b')
    b.applyDelta(a.increment(5))
    expect(b.value).toBe(5)
    const unseen = b.increment(2) // not yet at node-a
    const del = a.reset() // node-a deletes the 5 it saw
    expect(a.value).toBe(0)
    expect(a.isEmpty).toBe(true)
    a.applyDelta(unseen)
    b.applyDelta(del)
    expect(a.value).toBe(2)
    expect(b.value).toBe(2)
    expect(a.digest()).toBe(b.digest())
    expect(a.isEmpty).toBe(false)
    a.decrement(2)
    expect(a.value).toBe(0)
    expect(a.isEmpty).toBe(false) // value 0, but written since the reset
  })

  it('merge is commutative, associative, idempotent; value = Σ above the mark', () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
        expect(canon(merged(a, b))).toBe(canon(merged(b, a)))
        expect(canon(merged(merged(a, b).state(), c))).toBe(canon(merged(a, merged(b, c).state())))
        const m = merged(a)
        expect(m.merge(a)).toBe(false)
        expect(canon(m)).toBe(canon(merged(a)))
        m.merge(b)
        const s = m.state()
        expect(m.value).toBe(sumAbove(s.p, s.mark.p) - sumAbove(s.n, s.mark.n))
        expect(m.bigValue).toBe(BigInt(m.value))
        // The merged mark never exceeds the merged totals: the state reads back.
        expect(canon(ResettableCounter.fromState('x', s))).toBe(canon(m))
      }),
    )
  })

  it('digest is equal iff the states are equal; without a mark it is the PNCounter digest', () => {
    fc.assert(
      fc.property(stateArb, stateArb, fc.boolean(), (a, b, same) => {
        const x = merged(a)
        const y = merged(same ? a : b)
        expect(x.digest() === y.digest()).toBe(canon(x) === canon(y))
        expect(ResettableCounter.fromState('x', { p: a.p, n: a.n }).digest()).toBe(
          PNCounter.fromState('y', { p: a.p, n: a.n }).digest(),
        )
      }),
    )
    // A count moved between the totals and the mark changes the digest.
    expect(ResettableCounter.fromState('a', { p: { a: 2 }, mark: { p: { a: 1 } } }).digest()).not.toBe(
      ResettableCounter.fromState('a', { p: { a: 2 }, mark: { n: {} } }).digest(),
    )
  })

  it('every replica reads exactly the operations no reset it knows had observed (model)', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const { counters, expected } = model(steps)
        counters.forEach((c, i) => {
          expect(c.value).toBe(expected[i])
        })
      }),
      { numRuns: 300 },
    )
  })

  it('deltas ≡ states: applying every delta, shuffled and duplicated, equals merging the states', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.infiniteStream(fc.nat()), (steps, order) => {
        const counters = REPLICAS.map((r) => new ResettableCounter(r))
        const deltas: unknown[] = []
        for (const s of steps) {
          if (s.kind === 'sync') {
            counters[s.to]?.merge(counters[s.from]?.state())
            continue
          }
          const c = counters[s.at] as ResettableCounter
          deltas.push(
            s.kind === 'inc' ? c.increment(s.amount) : s.kind === 'dec' ? c.decrement(s.amount) : c.reset(),
          )
        }
        const viaStates = new ResettableCounter('obs')
        for (const c of counters) viaStates.merge(c.state())
        const viaDeltas = new ResettableCounter('obs2')
        const shuffled = [...deltas, ...deltas]
        const picks = order[Symbol.iterator]()
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (picks.next().value as number) % (i + 1)
          ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
        }
        for (const d of shuffled) viaDeltas.applyDelta(d)
        expect(viaDeltas.digest()).toBe(viaStates.digest())
        expect(viaDeltas.value).toBe(viaStates.value)
      }),
    )
  })

  it('merge-then-delete reads 0; delete-then-merge keeps exactly what the deleter had not seen', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (sa, sb) => {
        const first = merged(sa)
        first.merge(sb)
        first.reset()
        expect(first.value).toBe(0)
        expect(first.isEmpty).toBe(true)

        const a = merged(sa)
        const seen = a.state()
        a.reset()
        a.merge(sb)
        const s = a.state()
        // Mark after the merge: max(a's totals, b's mark) per replica.
        const mark = (t: Record<string, number>, m: Record<string, number>) =>
          Object.fromEntries(
            [...new Set([...Object.keys(t), ...Object.keys(m)])].map((r) => [
              r,
              Math.max(own(t, r), own(m, r)),
            ]),
          )
        expect(a.value).toBe(
          sumAbove(sb.p, mark(seen.p, sb.mark.p)) - sumAbove(sb.n, mark(seen.n, sb.mark.n)),
        )
        expect(canonRecord(s.mark.p)).toBe(canonRecord(mark(seen.p, sb.mark.p)))
      }),
    )
  })

  it('concurrent increments survive a delete, whichever order the merges come in', () => {
    fc.assert(
      fc.property(stateArb, fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 10 }), (s, incs) => {
        const a = ResettableCounter.fromState('a', s)
        const b = ResettableCounter.fromState('b', s)
        const deltas = incs.map((k) => b.increment(k))
        const del = a.reset()
        for (const d of deltas) a.applyDelta(d)
        b.applyDelta(del)
        const total = incs.reduce((x, y) => x + y, 0)
        expect(a.value).toBe(total)
        expect(b.value).toBe(total)
        expect(a.digest()).toBe(b.digest())
      }),
    )
  })

  it('delete is idempotent, and concurrent deletes merge to the larger mark', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (sa, sb) => {
        const a = merged(sa)
        const d1 = a.reset()
        const before = canon(a)
        const d2 = a.reset()
        expect(canon(a)).toBe(before)
        expect(d2).toEqual(d1)
        expect(a.applyDelta(d1)).toBe(false)
        const b = merged(sb)
        const db = b.reset()
        a.applyDelta(db)
        b.applyDelta(d1)
        expect(a.digest()).toBe(b.digest())
        expect(a.value).toBe(0) // both deletes saw everything either held
        expect(a.isEmpty).toBe(true)
      }),
    )
  })

  it('a reset counter is reusable: it counts from zero', () => {
    const a = new ResettableCounter('a')
    a.increment(10)
    a.decrement(3)
    a.reset()
    expect(a.increment(4)).toEqual({ p: { a: 14 }, mark: { p: { a: 10 } } })
    expect(a.value).toBe(4)
    a.decrement(1)
    expect(a.value).toBe(3)
    expect(a.state()).toEqual({ p: { a: 14 }, n: { a: 4 }, mark: { p: { a: 10 }, n: { a: 3 } } })
  })

  it('refuses bad amounts and overflow over the counter life, changing nothing', () => {
    const c = new ResettableCounter('a')
    c.increment(3)
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '1', 1n, null]) {
      expect(() => c.increment(bad as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
      expect(() => c.decrement(bad as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
    }
    const big = ResettableCounter.fromState('a', {
      p: { a: Number.MAX_SAFE_INTEGER },
      mark: { p: { a: Number.MAX_SAFE_INTEGER } },
    })
    expect(big.value).toBe(0)
    const before = canon(big)
    // Totals include what resets removed: a reset does not give back headroom.
    expect(() => big.increment()).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(canon(big)).toBe(before)
    // Value beyond ±(2^53−1) after merges: readable as bigValue, local ops refused.
    const wide = ResettableCounter.fromState('z', {
      n: { a: Number.MAX_SAFE_INTEGER, b: 10 },
    })
    expect(() => wide.value).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(wide.bigValue).toBe(-BigInt(Number.MAX_SAFE_INTEGER) - 10n)
    expect(() => wide.increment(1)).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(wide.increment(20)).toEqual({ p: { z: 20 } })
    expect(wide.value).toBe(-Number.MAX_SAFE_INTEGER + 10)
  })

  it('refuses a bad replica id', () => {
    for (const bad of ['', '__proto__', 'a\u0000', 5, null]) {
      expect(() => new ResettableCounter(bad as string)).toThrow(
        expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }),
      )
    }
  })
})
