// The TTL register (last writer wins on a hybrid stamp, PERSIST a stamped
// value), expiry under clock skew, and expiry applied as own-writes resets.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareTtl,
  ErrorCodes,
  expired,
  expiryDue,
  makeTtl,
  mergeTtl,
  ResettableCounter,
  readTtl,
  type Ttl,
} from '../src/index.js'

const MAX = Number.MAX_SAFE_INTEGER
const ttlArb: fc.Arbitrary<Ttl> = fc.record({
  at: fc.option(fc.nat({ max: 10_000 }), { nil: null }),
  setBy: fc.constantFrom('a', 'b', 'c'),
  stamp: fc.nat({ max: 20 }),
})
const maybe = fc.option(ttlArb, { nil: undefined })

describe('TTL register', () => {
  it('merge is commutative, associative, idempotent, with "never set" as identity', () => {
    fc.assert(
      fc.property(maybe, maybe, maybe, (a, b, c) => {
        expect(mergeTtl(a, b)).toEqual(mergeTtl(b, a))
        expect(mergeTtl(mergeTtl(a, b), c)).toEqual(mergeTtl(a, mergeTtl(b, c)))
        expect(mergeTtl(a, a)).toEqual(a)
        expect(mergeTtl(a, undefined)).toEqual(a)
      }),
    )
  })

  it('compareTtl is a total order: 0 only for equal versions', () => {
    fc.assert(
      fc.property(ttlArb, ttlArb, (a, b) => {
        expect(Math.sign(compareTtl(a, b)) + Math.sign(compareTtl(b, a))).toBe(0)
        expect(compareTtl(a, b) === 0).toBe(JSON.stringify(a) === JSON.stringify(b))
      }),
    )
  })

  const lww: Array<[string, Ttl, Ttl, Ttl]> = [
    [
      'a later EXPIRE wins even when shorter',
      makeTtl(9000, 'a', 1),
      makeTtl(5000, 'b', 2),
      makeTtl(5000, 'b', 2),
    ],
    ['a later EXPIRE wins when longer', makeTtl(5000, 'a', 1), makeTtl(9000, 'b', 2), makeTtl(9000, 'b', 2)],
    [
      'a later PERSIST wins over an EXPIRE',
      makeTtl(5000, 'a', 1),
      makeTtl(null, 'b', 2),
      makeTtl(null, 'b', 2),
    ],
    [
      'a later EXPIRE wins over a PERSIST',
      makeTtl(null, 'a', 1),
      makeTtl(5000, 'b', 2),
      makeTtl(5000, 'b', 2),
    ],
    [
      'equal stamps: the greater replica id wins',
      makeTtl(9000, 'b', 3),
      makeTtl(5000, 'a', 3),
      makeTtl(9000, 'b', 3),
    ],
    [
      'equal stamp and id: the later expiry wins',
      makeTtl(5000, 'a', 3),
      makeTtl(9000, 'a', 3),
      makeTtl(9000, 'a', 3),
    ],
    [
      'equal stamp and id: an expiry beats PERSIST',
      makeTtl(null, 'a', 3),
      makeTtl(1, 'a', 3),
      makeTtl(1, 'a', 3),
    ],
  ]
  it.each(lww)('%s', (_, x, y, winner) => {
    expect(mergeTtl(x, y)).toEqual(winner)
    expect(mergeTtl(y, x)).toEqual(winner)
  })

  const expiry: Array<[string, Ttl | undefined, number, number, boolean]> = [
    ['never set', undefined, 10_000, 0, false],
    ['PERSIST', makeTtl(null, 'a', 1), 10_000, 0, false],
    ['before at', makeTtl(1000, 'a', 1), 999, 0, false],
    ['at at', makeTtl(1000, 'a', 1), 1000, 0, true],
    ['after at', makeTtl(1000, 'a', 1), 5000, 0, true],
    ['past at locally, within the skew bound', makeTtl(1000, 'a', 1), 1040, 50, false],
    ['at + skew', makeTtl(1000, 'a', 1), 1050, 50, true],
    ['expiry 0', makeTtl(0, 'a', 1), 0, 0, true],
  ]
  it.each(expiry)('expired: %s', (_, ttl, now, skew, want) => {
    expect(expired(ttl, now, skew)).toBe(want)
  })

  it('expiryDue: once per TTL version', () => {
    const v1 = makeTtl(1000, 'a', 1)
    const v2 = makeTtl(2000, 'b', 2)
    expect(expiryDue(v1, undefined, 999)).toBe(false)
    expect(expiryDue(v1, undefined, 1000)).toBe(true)
    expect(expiryDue(v1, v1, 5000)).toBe(false)
    expect(expiryDue(v2, v1, 1500)).toBe(false)
    expect(expiryDue(v2, v1, 2000)).toBe(true)
    expect(expiryDue(makeTtl(null, 'c', 3), v2, 9000)).toBe(false)
  })

  it('refuses a bad clock reading or skew with RangeError', () => {
    for (const [now, skew] of [
      [Number.NaN, 0],
      [Infinity, 0],
      [0, -1],
      [0, Number.NaN],
    ] as const) {
      expect(() => expired(makeTtl(1, 'a', 1), now, skew)).toThrow(RangeError)
    }
  })

  const bad: Array<[string, unknown]> = [
    ['null', null],
    ['an array', []],
    ['missing at', { setBy: 'a', stamp: 1 }],
    ['missing stamp', { at: 1, setBy: 'a' }],
    ['an unknown field', { at: 1, setBy: 'a', stamp: 1, ttl: 5 }],
    ['a negative at', { at: -1, setBy: 'a', stamp: 1 }],
    ['a fractional at', { at: 1.5, setBy: 'a', stamp: 1 }],
    ['an unsafe at', { at: MAX + 1, setBy: 'a', stamp: 1 }],
    ['a string at', { at: '1', setBy: 'a', stamp: 1 }],
    ['at undefined', { at: undefined, setBy: 'a', stamp: 1 }],
    ['a negative stamp', { at: 1, setBy: 'a', stamp: -1 }],
    ['a bigint stamp', { at: 1, setBy: 'a', stamp: 1n }],
    ['an empty setBy', { at: 1, setBy: '', stamp: 1 }],
    ['a __proto__ setBy', { at: 1, setBy: '__proto__', stamp: 1 }],
    [
      'a throwing getter',
      Object.defineProperty({}, 'at', {
        enumerable: true,
        get: () => {
          throw new Error('boom')
        },
      }),
    ],
  ]
  it.each(bad)('readTtl refuses %s with TALLY_STATE_INVALID', (_, x) => {
    expect(() => readTtl(x)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
  })
})

describe('expiry applied with skewed clocks', () => {
  /**
   * Three replicas whose clocks are off true time by `offsets` ms. Each ms of
   * true time each replica first applies a due expiry (resetOwn), then maybe
   * increments; deltas reach everyone at once (delivery does not matter: the
   * marks are state). Returns the converged value and, independently, the sum
   * of the increments made when the issuer's own clock had passed `at`.
   */
  function run(offsets: number[], at: number, seed: number) {
    const ttl = makeTtl(at, 'r0', 1)
    const counters = offsets.map((_, i) => new ResettableCounter(`r${i}`))
    const applied: Array<Ttl | undefined> = offsets.map(() => undefined)
    let kept = 0
    let early = 0 // kept although made before `at` in true time
    let late = 0 // removed although made at or after `at` in true time
    let x = seed
    const rand = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      return x / 2 ** 32
    }
    for (let t = 0; t < 2 * at; t++) {
      offsets.forEach((off, i) => {
        const c = counters[i] as ResettableCounter
        const now = t + off
        if (expiryDue(ttl, applied[i], now)) {
          const d = c.resetOwn()
          applied[i] = ttl
          for (const o of counters) o.applyDelta(d)
        }
        if (rand() < 0.3) {
          const d = c.increment(1)
          for (const o of counters) o.applyDelta(d)
          if (now >= at) kept++
          if (now >= at && t < at) early++
          if (now < at && t >= at) late++
        }
      })
    }
    return { values: counters.map((c) => c.value), kept, early, late }
  }

  const cases: Array<[string, number[]]> = [
    ['synchronised clocks', [0, 0, 0]],
    ['one clock 50 ms ahead', [0, 50, 0]],
    ['one clock 80 ms behind', [0, 0, -80]],
    ['spread of ±100 ms', [-100, 0, 100]],
  ]
  it.each(cases)(
    '%s: every replica reads exactly the increments made after its issuer passed `at`',
    (_, offsets) => {
      const at = 500
      const skew = Math.max(...offsets.map(Math.abs))
      for (let seed = 1; seed <= 5; seed++) {
        const { values, kept, early, late } = run(offsets, at, seed)
        for (const v of values) expect(v).toBe(kept)
        // The error is bounded by the skew: only increments within `skew` ms
        // of `at` in true time can fall on the wrong side.
        const bound = skew * offsets.length
        expect(early).toBeLessThanOrEqual(bound)
        expect(late).toBeLessThanOrEqual(bound)
        if (skew === 0) expect(early + late).toBe(0)
      }
    },
  )

  it('an expired counter reads 0 everywhere once every replica passed `at`, with no writes since', () => {
    const counters = ['a', 'b', 'c'].map((r) => new ResettableCounter(r))
    for (const c of counters) {
      const d = c.increment(4)
      for (const o of counters) o.applyDelta(d)
    }
    const ttl = makeTtl(1000, 'a', 7)
    const clocks = [1000, 990, 1010] // b has not reached `at` yet
    counters.forEach((c, i) => {
      if (expiryDue(ttl, undefined, clocks[i] as number)) for (const o of counters) o.applyDelta(c.resetOwn())
    })
    for (const c of counters) expect(c.value).toBe(4) // b's increment is still live
    const b = counters[1] as ResettableCounter
    expect(expiryDue(ttl, undefined, 1000)).toBe(true)
    for (const o of counters) o.applyDelta(b.resetOwn())
    for (const c of counters) {
      expect(c.value).toBe(0)
      expect(c.isEmpty).toBe(true)
    }
  })
})
