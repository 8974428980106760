// Every malformed, negative, unsafe or inconsistent resettable-counter state
// or delta is refused with its code and leaves the receiver exactly as it was.
import { describe, expect, it } from 'vitest'
import { ErrorCodes, ResettableCounter } from '../src/index.js'

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
  ['undefined', undefined],
  ['a number', 5],
  ['a string', '{"p":{}}'],
  ['an array', [{}, {}]],
  ['a Map', new Map([['p', {}]])],
  ['a class instance', new (class {})()],
  ['an unknown field', { p: {}, n: {}, mark: {}, r: {} }],
  ['p an array', { p: [1] }],
  ['n null', { n: null }],
  ['mark null', { mark: null }],
  ['mark an array', { mark: [] }],
  ['mark with an unknown field', { p: { a: 1 }, mark: { p: { a: 1 }, x: {} } }],
  ['mark.p a number', { mark: { p: 1 } }],
  ['a negative count', { p: { a: -1 } }],
  ['a negative mark', { p: { a: 5 }, mark: { p: { a: -1 } } }],
  ['a fraction', { p: { a: 0.5 } }],
  ['a fractional mark', { p: { a: 5 }, mark: { n: { a: 0.5 } } }],
  ['NaN', { p: { a: Number.NaN } }],
  ['Infinity', { n: { a: Infinity } }],
  ['2^53', { p: { a: MAX + 1 } }],
  ['a mark of 2^53', { p: { a: MAX }, mark: { p: { a: MAX + 1 } } }],
  ['a bigint', { p: { a: 1n } }],
  ['a string count', { p: { a: '1' } }],
  ['a mark above its p total', { p: { a: 5 }, mark: { p: { a: 6 } } }],
  ['a mark above its n total', { p: { a: 5 }, n: { a: 2 }, mark: { n: { a: 3 } } }],
  ['a mark for a replica with no total', { p: { a: 5 }, mark: { p: { b: 1 } } }],
  ['a mark.p covering an n total', { n: { a: 5 }, mark: { p: { a: 5 } } }],
  ['a __proto__ replica', JSON.parse('{"p":{"__proto__":1}}')],
  ['an empty replica id', { p: { '': 1 } }],
  ['a control character in an id', { n: { 'a\u0001': 1 } }],
  ['a throwing getter', throwingGetter('p')],
  ['a throwing getter in the mark', { p: { a: 1 }, mark: throwingGetter('p') }],
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

describe('ResettableCounter bad input', () => {
  const populated = () => {
    const c = new ResettableCounter('a')
    c.increment(7)
    c.decrement(2)
    c.reset()
    c.increment(1)
    return c
  }

  it.each(bad)('merge / fromState refuse %s with TALLY_STATE_INVALID, changing nothing', (_, input) => {
    const c = populated()
    const before = JSON.stringify(c.state())
    expect(() => c.merge(input)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect(JSON.stringify(c.state())).toBe(before)
    expect(() => ResettableCounter.fromState('b', input)).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
  })

  it.each(bad)('applyDelta refuses %s with TALLY_DELTA_INVALID, changing nothing', (_, input) => {
    const c = populated()
    const before = JSON.stringify(c.state())
    expect(() => c.applyDelta(input)).toThrow(expect.objectContaining({ code: ErrorCodes.DELTA_INVALID }))
    expect(JSON.stringify(c.state())).toBe(before)
    expect(c.value).toBe(1)
  })

  it('a mark is checked against the totals of its own state, not the receiver', () => {
    // The receiver holds p.a = 9, but a state claiming to have observed 6 of
    // a's increments while carrying only 5 is inconsistent wherever it lands.
    const c = ResettableCounter.fromState('r', { p: { a: 9 } })
    expect(() => c.merge({ p: { a: 5 }, mark: { p: { a: 6 } } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(c.value).toBe(9)
  })

  it('accepts a PNCounter state (no mark) and zero entries', () => {
    expect(ResettableCounter.fromState('r', { p: { a: 3 }, n: { b: 1 } }).value).toBe(2)
    expect(ResettableCounter.fromState('r', { p: { a: 0 }, mark: { p: { a: 0 }, n: {} } }).isEmpty).toBe(true)
    expect(ResettableCounter.fromState('r', {}).value).toBe(0)
  })
})
