import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, GCounter, type GCounterState } from '../src/index.js'
import { canonRecord, own } from './support/canonical.js'

const MAX = Number.MAX_SAFE_INTEGER
const stateArb: fc.Arbitrary<GCounterState> = fc.record({
  p: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'valueOf'), fc.nat({ max: 2 ** 48 }), { maxKeys: 4 }),
})
const merged = (...s: GCounterState[]) => {
  const c = new GCounter('obs')
  for (const x of s) c.merge(x)
  return c
}
const canon = (c: GCounter) => canonRecord(c.state().p)

describe('GCounter', () => {
  it('keeps the documented example working', () => {
    const a = new GCounter('node-a')
    expect(a.increment()).toBe(1)
    expect(a.increment(5)).toBe(6)
    const b = GCounter.fromState('node-b', a.state())
    b.increment(2)
    expect(a.merge(b.state())).toBe(true)
    expect([a.value, b.value, a.bigValue]).toEqual([8, 8, 8n])
    expect(a.digest()).toBe(b.digest())
  })

  it('merge is commutative, associative and idempotent; entries only grow; value = Σp', () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
        expect(canon(merged(a, b))).toBe(canon(merged(b, a)))
        expect(canon(merged(merged(a, b).state(), c))).toBe(canon(merged(a, merged(b, c).state())))
        const m = merged(a, b)
        expect(m.merge(b)).toBe(false)
        for (const [r, v] of Object.entries(a.p)) expect(own(m.state().p, r)).toBeGreaterThanOrEqual(v)
        expect(m.value).toBe(Object.values(m.state().p).reduce((x, y) => x + y, 0))
        expect(m.digest() === merged(b, a).digest()).toBe(true)
        expect(m.digest() === merged(a).digest()).toBe(canon(m) === canon(merged(a)))
      }),
    )
  })

  it('refuses bad amounts and overflow; value past the limit needs bigValue', () => {
    const g = new GCounter('a')
    for (const bad of [0, -3, 2.5, Number.NaN, MAX + 1, '2']) {
      expect(() => g.increment(bad as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
    }
    g.increment(MAX)
    expect(() => g.increment()).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(g.value).toBe(MAX)
    g.merge({ p: { b: 1 } })
    expect(() => g.value).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(g.bigValue).toBe(BigInt(MAX) + 1n)
  })

  it('refuses a PNCounter state (its decrements would be lost) and other junk, changing nothing', () => {
    const g = GCounter.fromState('a', { p: { a: 4 } })
    for (const bad of [
      { p: {}, n: { a: 1 } },
      { p: { a: -1 } },
      null,
      [],
      { p: [] },
      { p: { a: 5 }, q: 1 },
    ]) {
      expect(() => g.merge(bad)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    }
    expect(g.state()).toEqual({ p: { a: 4 } })
  })
})
