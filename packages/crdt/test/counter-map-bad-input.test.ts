// Every untrusted input path of CounterMap: bad input throws a TallyError with
// a stable code and leaves the receiver exactly as it was.
import { describe, expect, it } from 'vitest'
import { CounterMap, ErrorCodes, isTallyError, TallyError } from '../src/index.js'
import { canonMap } from './support/canonical.js'

const MAX = Number.MAX_SAFE_INTEGER

function populated(): CounterMap {
  const m = new CounterMap('self')
  m.increment('x', 5)
  m.decrement('y', 2)
  m.applyDelta({ ranges: [['peer', 0, 1]], entries: [['x', 'peer', 3, 0, 1]] })
  // A parked range, so "unchanged" also covers the pending bookkeeping's effect.
  m.applyDelta({ ranges: [['peer', 5, 6]], entries: [['z', 'peer', 1, 0, 6]] })
  return m
}

function expectRefused(call: (m: CounterMap) => unknown, code: string): void {
  const m = populated()
  const before = { canon: canonMap(m), digest: m.digest(), seq: m.seq, summary: m.summary() }
  let thrown: unknown
  try {
    call(m)
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(TallyError)
  expect((thrown as TallyError).code).toBe(code)
  expect({ canon: canonMap(m), digest: m.digest(), seq: m.seq, summary: m.summary() }).toEqual(before)
  // And the pending range still joins as before: the receiver truly is unchanged.
  m.applyDelta({ ranges: [['peer', 1, 5]], entries: [] })
  expect(m.summary().peer).toBe(6)
}

const throwing = () => {
  throw new Error('boom')
}
const getterObj = (key: string, extra: Record<string, unknown> = {}) =>
  Object.defineProperty({ ...extra }, key, { enumerable: true, get: throwing })
const revoked = (() => {
  const r = Proxy.revocable({}, {})
  r.revoke()
  return r.proxy
})()
class Delta {
  ranges = []
  entries = []
}
const sparse = (n: number) => {
  const a: unknown[] = []
  a.length = n
  return a
}
const goodEntry = ['x', 'peer', 9, 0, 9]

const badDeltas: Array<[string, unknown]> = [
  ['null', null],
  ['undefined', undefined],
  ['a number', 42],
  ['a string', '{"ranges":[],"entries":[]}'],
  ['an array', [[], []]],
  ['a Map', new Map([['ranges', []]])],
  ['a class instance', new Delta()],
  ['a Date', new Date()],
  ['BigInt', 10n],
  ['missing entries', { ranges: [] }],
  ['missing ranges', { entries: [] }],
  ['entries as object', { ranges: [], entries: {} }],
  ['ranges as string', { ranges: 'abc', entries: [] }],
  ['an extra field', { ranges: [], entries: [], hello: 1 }],
  ['a __proto__ own field', JSON.parse('{"ranges":[],"entries":[],"__proto__":{"x":1}}')],
  ['entry not a tuple', { ranges: [], entries: [{ name: 'x' }] }],
  ['entry too short', { ranges: [], entries: [['x', 'peer', 1, 0]] }],
  ['entry too long', { ranges: [], entries: [['x', 'peer', 1, 0, 1, 'extra']] }],
  ['entry with bad name', { ranges: [], entries: [['a b', 'peer', 1, 0, 1]] }],
  ['entry named __proto__', { ranges: [], entries: [['__proto__', 'peer', 1, 0, 1]] }],
  ['entry with empty name', { ranges: [], entries: [['', 'peer', 1, 0, 1]] }],
  ['entry with 129-char name', { ranges: [], entries: [['n'.repeat(129), 'peer', 1, 0, 1]] }],
  ['entry with replica __proto__', { ranges: [], entries: [['x', '__proto__', 1, 0, 1]] }],
  ['entry with 257-char replica', { ranges: [], entries: [['x', 'r'.repeat(257), 1, 0, 1]] }],
  ['entry with control char replica', { ranges: [], entries: [['x', 'a\nb', 1, 0, 1]] }],
  ['entry with lone surrogate replica', { ranges: [], entries: [['x', 'a\ud800', 1, 0, 1]] }],
  ['entry with negative p', { ranges: [], entries: [['x', 'peer', -1, 0, 1]] }],
  ['entry with fractional n', { ranges: [], entries: [['x', 'peer', 1, 0.5, 1]] }],
  ['entry with NaN', { ranges: [], entries: [['x', 'peer', Number.NaN, 0, 1]] }],
  ['entry with Infinity', { ranges: [], entries: [['x', 'peer', Number.POSITIVE_INFINITY, 0, 1]] }],
  ['entry with 2^53', { ranges: [], entries: [['x', 'peer', MAX + 1, 0, 1]] }],
  ['entry with a numeric string', { ranges: [], entries: [['x', 'peer', '5', 0, 1]] }],
  ['entry with BigInt', { ranges: [], entries: [['x', 'peer', 5n, 0, 1]] }],
  ['entry with nested junk', { ranges: [], entries: [['x', 'peer', [[[1]]], 0, 1]] }],
  ['non-zero entry with seq 0', { ranges: [], entries: [['x', 'peer', 4, 0, 0]] }],
  ['a sparse entries array', { ranges: [], entries: sparse(3) }],
  ['a huge sparse entries array', { ranges: [], entries: sparse(2 ** 32 - 1) }],
  ['a sparse tuple', { ranges: [], entries: [sparse(5)] }],
  ['range reversed', { ranges: [['peer', 5, 4]], entries: [] }],
  ['range negative', { ranges: [['peer', -1, 4]], entries: [] }],
  ['range too short', { ranges: [['peer', 4]], entries: [] }],
  ['range bad replica', { ranges: [['', 0, 4]], entries: [] }],
  ['a throwing getter', getterObj('entries', { ranges: [] })],
  [
    'a throwing getter in a tuple',
    { ranges: [], entries: [Object.defineProperty([], 0, { get: throwing })] },
  ],
  ['a revoked proxy', revoked],
  ['a proxy whose traps throw', new Proxy({}, { ownKeys: throwing, get: throwing })],
  // All-or-nothing: the first entries are fine, the last is not.
  [
    'good entries then a bad one',
    { ranges: [['peer', 1, 9]], entries: [goodEntry, ['x', 'peer', -5, 0, 1]] },
  ],
]

const badStates: Array<[string, unknown]> = [
  ['null', null],
  ['an array', []],
  ['a class instance', new Delta()],
  ['an extra field', { vv: {}, counters: {}, extra: true }],
  ['vv as array', { vv: [], counters: {} }],
  ['vv with negative seq', { vv: { peer: -1 }, counters: {} }],
  ['vv with -Infinity', { vv: { peer: Number.NEGATIVE_INFINITY }, counters: {} }],
  ['vv with __proto__ key', JSON.parse('{"vv":{"__proto__":3},"counters":{}}')],
  ['counters as array', { vv: {}, counters: [] }],
  ['counters null', { vv: {}, counters: null }],
  ['counter as array', { vv: {}, counters: { x: [] } }],
  ['counter named __proto__', JSON.parse('{"counters":{"__proto__":{"peer":[1,0,1]}}}')],
  ['counter with bad name', { counters: { 'x y': { peer: [1, 0, 1] } } }],
  ['tuple as object', { counters: { x: { peer: { p: 1, n: 0, seq: 1 } } } }],
  ['tuple too long', { counters: { x: { peer: [1, 0, 1, 0] } } }],
  ['tuple with float', { counters: { x: { peer: [1.5, 0, 1] } } }],
  ['tuple with BigInt', { counters: { x: { peer: [1n, 0, 1] } } }],
  ['tuple with seq 0', { counters: { x: { peer: [1, 0, 0] } } }],
  ['replica with control char', { counters: { x: { 'a\u0000': [1, 0, 1] } } }],
  ['a throwing getter', getterObj('counters')],
  ['a throwing getter deep inside', { counters: { x: getterObj('peer') } }],
  [
    'good counters then a bad one',
    { vv: { peer: 9 }, counters: { x: { peer: [9, 0, 9] }, y: { peer: [1, 0, -1] } } },
  ],
]

const badSummaries: Array<[string, unknown]> = [
  ['null', null],
  ['an array', [1, 2]],
  ['a string', 'a:1'],
  ['a negative seq', { peer: -1 }],
  ['a fractional seq', { peer: 1.5 }],
  ['a string seq', { peer: '1' }],
  ['a BigInt seq', { peer: 1n }],
  ['a __proto__ key', JSON.parse('{"__proto__":1}')],
  ['an empty replica id', { '': 1 }],
  ['a throwing getter', getterObj('peer')],
]

describe('CounterMap refuses bad input and stays unchanged', () => {
  it.each(badDeltas)('applyDelta: %s → TALLY_DELTA_INVALID', (_l, input) => {
    expectRefused((m) => m.applyDelta(input), ErrorCodes.DELTA_INVALID)
  })

  it.each(badStates)('merge: %s → TALLY_STATE_INVALID', (_l, input) => {
    expectRefused((m) => m.merge(input), ErrorCodes.STATE_INVALID)
    expect(() => CounterMap.fromState('z', input)).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
  })

  it.each(badSummaries)('deltaSince: %s → TALLY_DELTA_INVALID', (_l, input) => {
    expectRefused((m) => m.deltaSince(input), ErrorCodes.DELTA_INVALID)
  })

  const badAmounts: unknown[] = [
    0,
    -0,
    -1,
    1.5,
    Number.NaN,
    Infinity,
    -Infinity,
    MAX + 1,
    '5',
    5n,
    null,
    {},
    [1],
  ]
  it.each(badAmounts.map((a) => [String(a), a]))(
    'increment/decrement by %s → TALLY_AMOUNT_INVALID',
    (_l, a) => {
      expectRefused((m) => m.increment('x', a as number), ErrorCodes.AMOUNT_INVALID)
      expectRefused((m) => m.decrement('x', a as number), ErrorCodes.AMOUNT_INVALID)
    },
  )

  const badNames: unknown[] = [
    '',
    'a b',
    'é',
    'x\ty',
    'x\u0000y',
    'n'.repeat(129),
    '__proto__',
    5,
    null,
    undefined,
    ['x'],
  ]
  it.each(badNames.map((n) => [String(n).slice(0, 20), n]))(
    'increment on name %s → TALLY_NAME_INVALID',
    (_l, n) => {
      expectRefused((m) => m.increment(n as string), ErrorCodes.NAME_INVALID)
    },
  )

  it('refuses bad replica ids in the constructor and fromState', () => {
    for (const id of ['', 'r'.repeat(257), 'a\tb', 'a\udc00', '__proto__', 5, null]) {
      expect(() => new CounterMap(id as string)).toThrow(
        expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }),
      )
      expect(
        isTallyError(
          (() => {
            try {
              CounterMap.fromState(id as string, {})
            } catch (e) {
              return e
            }
          })(),
          ErrorCodes.REPLICA_INVALID,
        ),
      ).toBe(true)
    }
  })
})

describe('CounterMap accepts odd but valid input', () => {
  it('accepts null-prototype objects, "constructor" and "toString" keys, and extremes', () => {
    const counters = Object.create(null)
    counters.constructor = { toString: [1, 0, 1], hasOwnProperty: [2, 3, 2] }
    const m = CounterMap.fromState('self', {
      vv: Object.assign(Object.create(null), { toString: 1 }),
      counters,
    })
    expect(m.value('constructor')).toBe(0)
    expect(m.counterState('constructor')).toEqual({
      p: { toString: 1, hasOwnProperty: 2 },
      n: { hasOwnProperty: 3 },
    })
    const big = new CounterMap('self')
    big.applyDelta({
      ranges: [['r'.repeat(256), 0, MAX]],
      entries: [['n'.repeat(128), 'r'.repeat(256), MAX, MAX, MAX]],
    })
    expect(big.value('n'.repeat(128))).toBe(0)
    expect(big.summary()['r'.repeat(256)]).toBe(MAX)
  })

  it('normalises negative zero and ignores all-zero entries', () => {
    const m = new CounterMap('self')
    expect(m.applyDelta({ ranges: [['p', -0, -0]], entries: [['x', 'p', -0, -0, 1]] })).toBe(false)
    m.applyDelta({ ranges: [], entries: [['x', 'p', 3, -0, 1]] })
    const state = m.state()
    expect(Object.is(state.counters.x?.p?.[1], 0)).toBe(true)
    expect(m.digest()).toBe(CounterMap.fromState('o', { counters: { x: { p: [3, 0, 1] } } }).digest())
  })

  it('reads each field once: a getter cannot swap in bad data after the check', () => {
    let reads = 0
    const entries = [['x', 'peer', 1, 0, 1]]
    const delta = {
      ranges: [],
      get entries() {
        reads++
        return reads === 1 ? entries : [['x', 'peer', -1, 0, 1]]
      },
    }
    const m = new CounterMap('self')
    m.applyDelta(delta)
    expect(reads).toBe(1)
    expect(m.value('x')).toBe(1)
  })
})
