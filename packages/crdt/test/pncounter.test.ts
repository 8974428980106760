import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, GCounter, PNCounter, type PNCounterState, TallyError } from '../src/index.js'
import { canonRecord, own } from './support/canonical.js'

const MAX = Number.MAX_SAFE_INTEGER
const ids = fc.constantFrom('a', 'b', 'c', 'd', 'constructor', 'toString')
const table = fc.dictionary(ids, fc.nat({ max: 2 ** 45 }), { maxKeys: 6 })
const stateArb: fc.Arbitrary<PNCounterState> = fc.record({ p: table, n: table })
const canon = (c: PNCounter) => `${canonRecord(c.state().p)}|${canonRecord(c.state().n)}`
const merged = (...s: PNCounterState[]) => {
  const c = new PNCounter('obs')
  for (const x of s) c.merge(x)
  return c
}
const sum = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0)

describe('PNCounter', () => {
  it('keeps the documented example working', () => {
    const a = new PNCounter('node-a')
    a.increment()
    a.increment(5)
    a.decrement(2)
    expect(a.value).toBe(4)
    const s = a.state()
    const b = PNCounter.fromState('node-b', s)
    b.merge(a.state())
    expect(b.value).toBe(4)
    expect(b.digest()).toBe(a.digest())
    b.increment()
    expect(b.value).toBe(5)
    expect(a.merge(b.state())).toBe(true)
    expect(a.value).toBe(5)
    expect(a.merge(b.state())).toBe(false)
  })

  it('merge is commutative, associative, idempotent; entries only grow; value = Σp − Σn', () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
        expect(canon(merged(a, b))).toBe(canon(merged(b, a)))
        expect(canon(merged(merged(a, b).state(), c))).toBe(canon(merged(a, merged(b, c).state())))
        const m = merged(a)
        expect(m.merge(a)).toBe(false)
        expect(canon(m)).toBe(canon(merged(a)))
        m.merge(b)
        for (const [r, v] of Object.entries(a.p)) expect(own(m.state().p, r)).toBeGreaterThanOrEqual(v)
        for (const [r, v] of Object.entries(a.n)) expect(own(m.state().n, r)).toBeGreaterThanOrEqual(v)
        expect(m.value).toBe(sum(m.state().p) - sum(m.state().n))
        expect(m.bigValue).toBe(BigInt(m.value))
      }),
    )
  })

  it('digest is equal iff the states are equal; zero entries do not count', () => {
    fc.assert(
      fc.property(stateArb, stateArb, fc.boolean(), (a, b, same) => {
        const x = merged(a)
        const y = merged(same ? a : b)
        expect(x.digest() === y.digest()).toBe(canon(x) === canon(y))
      }),
    )
    expect(PNCounter.fromState('a', { p: { a: 0 }, n: {} }).digest()).toBe(new PNCounter('b').digest())
    // p and n are distinct tables: moving a count from one to the other changes the digest.
    expect(PNCounter.fromState('a', { p: { a: 1 } }).digest()).not.toBe(
      PNCounter.fromState('a', { n: { a: 1 } }).digest(),
    )
  })

  it('digest of a PNCounter with no decrements equals the GCounter digest', () => {
    fc.assert(
      fc.property(table, (p) => {
        expect(PNCounter.fromState('x', { p }).digest()).toBe(GCounter.fromState('y', { p }).digest())
      }),
    )
  })

  it('refuses bad amounts and overflow, changing nothing', () => {
    const c = new PNCounter('a')
    c.increment(3)
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, MAX + 1, '1', 1n, null]) {
      expect(() => c.increment(bad as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
      expect(() => c.decrement(bad as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
    }
    expect(() => c.increment(MAX - 2)).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(c.increment(MAX - 3)).toBe(MAX)
    c.decrement(MAX)
    expect(() => c.decrement()).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(c.state()).toEqual({ p: { a: MAX }, n: { a: MAX } })
    expect(c.value).toBe(0)
  })

  it('value is exact past the limit: throws only when the exact value is unsafe', () => {
    const c = PNCounter.fromState('a', { p: { b: MAX, c: MAX }, n: {} })
    expect(() => c.value).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(c.bigValue).toBe(2n * BigInt(MAX))
    // A decrement that would leave the value unsafe is refused before it changes anything.
    expect(() => c.decrement(1)).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(c.state().n).toEqual({})
    expect(c.decrement(MAX)).toBe(MAX)
    expect(PNCounter.fromState('a', { p: { b: MAX, c: MAX }, n: { d: MAX, e: MAX } }).value).toBe(0)
  })

  const badStates: Array<[string, unknown]> = [
    ['null', null],
    ['an array', [{}, {}]],
    ['p as array', { p: [1], n: {} }],
    ['n null', { p: {}, n: null }],
    ['negative count', { p: { a: -1 } }],
    ['fraction', { p: { a: 0.5 } }],
    ['NaN', { n: { a: Number.NaN } }],
    ['2^53', { p: { a: MAX + 1 } }],
    ['BigInt', { p: { a: 1n } }],
    ['string count', { p: { a: '1' } }],
    ['__proto__ replica', JSON.parse('{"p":{"__proto__":1}}')],
    ['empty replica', { p: { '': 1 } }],
    ['extra field', { p: {}, n: {}, q: {} }],
    ['class instance', new (class {})()],
    [
      'throwing getter',
      Object.defineProperty({}, 'p', {
        enumerable: true,
        get: () => {
          throw new Error('x')
        },
      }),
    ],
    ['good p, bad n', { p: { a: 9 }, n: { a: -1 } }],
  ]
  it.each(badStates)('merge of %s throws TALLY_STATE_INVALID and changes nothing', (_l, bad) => {
    const c = PNCounter.fromState('a', { p: { a: 2, b: 3 }, n: { a: 1 } })
    const before = [canon(c), c.digest()]
    expect(() => c.merge(bad)).toThrow(TallyError)
    expect(() => c.merge(bad)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect([canon(c), c.digest()]).toEqual(before)
  })

  it('refuses bad replica ids', () => {
    for (const id of ['', 'x'.repeat(257), 'a\u007f', '__proto__']) {
      expect(() => new PNCounter(id)).toThrow(expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }))
    }
  })
})
