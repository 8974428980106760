// Every malformed, negative, unsafe or inconsistent bounded-counter state or
// delta is refused with its code and leaves the receiver exactly as it was.
import { describe, expect, it } from 'vitest'
import { BoundedCounter, ErrorCodes, TallyError } from '../src/index.js'

const MAX = Number.MAX_SAFE_INTEGER

function throwingGetter(key: string): object {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get: () => {
      throw new Error('boom')
    },
  })
}

const bad: Array<[string, unknown]> = [
  ['null', null],
  ['a number', 5],
  ['a string', '{"p":{}}'],
  ['an array', [{}, {}, {}]],
  ['a Map', new Map([['p', {}]])],
  ['a class instance', new (class {})()],
  ['an unknown field', { p: {}, n: {}, r: {}, d: {} }],
  ['p an array', { p: [1] }],
  ['n null', { n: null }],
  ['r a number', { r: 1 }],
  ['r row an array', { r: { a: [1] } }],
  ['r row null', { r: { a: null } }],
  ['a negative count', { p: { a: -1 } }],
  ['a negative decrement', { p: { a: 5 }, n: { a: -1 } }],
  ['a negative transfer', { p: { a: 5 }, r: { a: { b: -1 } } }],
  ['a fraction', { p: { a: 0.5 } }],
  ['NaN', { p: { a: Number.NaN } }],
  ['Infinity', { p: { a: Infinity } }],
  ['2^53', { p: { a: MAX + 1 } }],
  ['a transfer of 2^53', { p: { a: MAX }, r: { a: { b: MAX + 1 } } }],
  ['a bigint', { p: { a: 1n } }],
  ['a string count', { p: { a: '1' } }],
  ['a __proto__ replica', JSON.parse('{"p":{"__proto__":1}}')],
  ['a __proto__ giver', JSON.parse('{"r":{"__proto__":{"a":1}}}')],
  ['a __proto__ receiver', JSON.parse('{"p":{"a":1},"r":{"a":{"__proto__":1}}}')],
  ['an empty replica id', { p: { '': 1 } }],
  ['a control character in an id', { p: { 'a\u0000': 1 } }],
  ['a self-transfer', { p: { a: 5 }, r: { a: { a: 1 } } }],
  ['decrements without the rights', { n: { a: 1 } }],
  ['more decrements than rights', { p: { a: 5 }, n: { a: 6 } }],
  ['a transfer without the rights', { r: { a: { b: 1 } } }],
  ['rights given twice over', { p: { a: 5 }, r: { a: { b: 3, c: 3 } } }],
  ['a receiver spending more than it got', { p: { a: 5 }, n: { b: 6 }, r: { a: { b: 5 } } }],
  ['a throwing getter', throwingGetter('p')],
  ['a throwing getter in r', { r: throwingGetter('a') }],
  [
    'a throwing proxy',
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom')
        },
      },
    ),
  ],
]

function populated(): BoundedCounter {
  const a = new BoundedCounter('a')
  a.increment(10)
  a.transfer('b', 4)
  const b = BoundedCounter.fromState('b', a.state())
  b.decrement(1)
  a.merge(b.state())
  a.decrement(2)
  return a
}

const snapshot = (c: BoundedCounter) => [c.digest(), c.state(), c.value, c.localRights]

describe('BoundedCounter bad input', () => {
  it.each(bad)('fromState/merge of %s throws TALLY_STATE_INVALID and changes nothing', (_l, input) => {
    const c = populated()
    const before = snapshot(c)
    expect(() => c.merge(input)).toThrow(TallyError)
    expect(() => c.merge(input)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect(() => BoundedCounter.fromState('z', input)).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(snapshot(c)).toEqual(before)
  })

  it.each(bad)('applyDelta of %s throws TALLY_DELTA_INVALID and changes nothing', (_l, input) => {
    const c = populated()
    const before = snapshot(c)
    expect(() => c.applyDelta(input)).toThrow(expect.objectContaining({ code: ErrorCodes.DELTA_INVALID }))
    expect(snapshot(c)).toEqual(before)
  })

  // Each of these is consistent on its own, but merged into `populated()` (a
  // gave b 4, b spent 1, a spent 2) it would leave a replica with negative
  // rights: it cannot come from the same history (a forged state, or a
  // replica id reused after its state was lost).
  const forged: Array<[string, unknown]> = [
    ['a gave c rights it had already given b', { p: { a: 10 }, r: { a: { c: 7 } } }],
    ['a sold rights it had already given b', { p: { a: 10 }, n: { a: 7 } }],
    ['b gave c rights it had already spent', { p: { a: 10 }, r: { a: { b: 4 }, b: { c: 4 } } }],
  ]
  it.each(forged)('a merge where %s is refused, changing nothing', (_l, input) => {
    expect(() => BoundedCounter.fromState('z', input)).not.toThrow()
    const c = populated()
    const before = snapshot(c)
    expect(() => c.merge(input)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect(() => c.applyDelta(input)).toThrow(expect.objectContaining({ code: ErrorCodes.DELTA_INVALID }))
    expect(snapshot(c)).toEqual(before)
    // The refusal undid every entry it had raised, new rows included.
    expect(c.replicas()).toEqual(['a', 'b'])
    expect(c.state()).toEqual(before[1])
  })

  it('accepts -0 and zero entries as absent, and states missing tables', () => {
    const c = BoundedCounter.fromState('a', { p: { a: 3, b: -0 }, n: { b: 0 }, r: { a: { b: 0 } } })
    expect(c.state()).toEqual({ p: { a: 3 }, n: {}, r: {} })
    expect(BoundedCounter.fromState('a', {}).state()).toEqual({ p: {}, n: {}, r: {} })
    expect(Object.is(c.state().p.a, 3)).toBe(true)
  })

  it('names the problem in the message', () => {
    expect(() => new BoundedCounter('a').merge({ p: { a: 5 }, n: { a: 6 } })).toThrow(/negative rights/)
    expect(() => new BoundedCounter('a').applyDelta({ r: { a: { a: 1 } } })).toThrow(/itself/)
    expect(() => new BoundedCounter('a').applyDelta({ p: { a: -1 } })).toThrow(/delta\.p/)
  })
})
