import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, TallyError } from '../src/index.js'
import {
  assertAmount,
  describe as describeValue,
  guard,
  isCount,
  isPlainObject,
  isValidName,
  isValidReplicaId,
  unknownKey,
} from '../src/validate.js'

const MAX = Number.MAX_SAFE_INTEGER

describe('isValidName', () => {
  it.each([
    ['x', true],
    ['tenant-42', true],
    ['a.b_c:d-E9', true],
    ['n'.repeat(128), true],
    ['constructor', true],
    ['__proto___', true],
    ['', false],
    ['n'.repeat(129), false],
    ['a b', false],
    ['a\tb', false],
    ['a\u007fb', false],
    ['rl:{t}/login', true],
    ['views@2026-12-01', true],
    ['page|home', true],
    ['a%2Fb?c#d', true],
    ['é', false],
    ['x\n', false],
    ['__proto__', false],
    [5, false],
    [null, false],
    [['x'], false],
  ])('%j → %s', (name, ok) => {
    expect(isValidName(name)).toBe(ok)
  })
})

describe('isValidReplicaId', () => {
  it.each([
    ['node-1.3', true],
    ['r'.repeat(256), true],
    ['with space and é and 😀', true],
    ['constructor', true],
    ['', false],
    ['r'.repeat(257), false],
    ['a\u0000', false],
    ['a\u001f', false],
    ['a\u007f', false],
    ['a\ud800', false],
    ['\udc00a', false],
    ['\ud83d\ude00', true],
    ['a\ud83d\ude00b\ud83d\ude00', true],
    ['\ud83d', false],
    ['\ude00\ud83d', false],
    ['\ud83d\ud83d\ude00', false],
    ['__proto__', false],
    [1, false],
    [undefined, false],
  ])('%j → %s', (id, ok) => {
    expect(isValidReplicaId(id)).toBe(ok)
  })
})

describe('replica ids survive UTF-8', () => {
  it('an id is valid (surrogate-wise) iff it round-trips through UTF-8 unchanged', () => {
    const near = fc.integer({ min: 0xd7f0, max: 0xe010 })
    const str = fc.array(fc.oneof(near, fc.constant(0x61)), { minLength: 1, maxLength: 12 })
    fc.assert(
      fc.property(str, (codes) => {
        const id = String.fromCharCode(...codes)
        const roundTrip = new TextDecoder().decode(new TextEncoder().encode(id))
        expect(isValidReplicaId(id)).toBe(roundTrip === id)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('assertAmount', () => {
  it.each([1, 2, 1000, MAX])('accepts %s', (a) => {
    expect(() => assertAmount(a)).not.toThrow()
  })
  it.each([
    0,
    -0,
    -1,
    0.5,
    1.5,
    Number.NaN,
    Infinity,
    -Infinity,
    MAX + 1,
    2 ** 60,
    '1',
    1n,
    null,
    undefined,
    {},
    [1],
    true,
  ])('refuses %s with TALLY_AMOUNT_INVALID', (a) => {
    expect(() => assertAmount(a)).toThrow(expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }))
  })
})

describe('isCount', () => {
  it.each([
    [0, true],
    [-0, true],
    [MAX, true],
    [-1, false],
    [MAX + 1, false],
    [0.1, false],
    [Number.NaN, false],
    ['0', false],
    [0n, false],
  ] as Array<[unknown, boolean]>)('%# → %s', (x, ok) => expect(isCount(x)).toBe(ok))
})

describe('isPlainObject', () => {
  it.each([
    [{}, true],
    [Object.create(null), true],
    [JSON.parse('{"__proto__":{}}'), true],
    [[], false],
    [null, false],
    [new Map(), false],
    [new Date(), false],
    [new (class {})(), false],
    [Object.create({ inherited: 1 }), false],
    [new Uint8Array(2), false],
    ['str', false],
    [() => ({}), false],
  ])('%#: %s', (x, ok) => expect(isPlainObject(x)).toBe(ok))
})

describe('unknownKey / guard / describe', () => {
  it('finds the first key outside the allowed list', () => {
    expect(unknownKey({ a: 1, b: 2 }, ['a', 'b'])).toBeUndefined()
    expect(unknownKey({ a: 1, z: 2 }, ['a'])).toBe('z')
    expect(unknownKey(JSON.parse('{"__proto__":1}'), ['a'])).toBe('__proto__')
  })

  it('turns foreign throws into a TallyError with the given code, keeps TallyErrors', () => {
    expect(guard(ErrorCodes.STATE_INVALID, 'x', () => 7)).toBe(7)
    const err = (() => {
      try {
        guard(ErrorCodes.STATE_INVALID, 'x', () => {
          throw new RangeError('deep')
        })
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(TallyError)
    expect((err as TallyError).code).toBe(ErrorCodes.STATE_INVALID)
    const own = new TallyError(ErrorCodes.NAME_INVALID, 'n')
    expect(() =>
      guard(ErrorCodes.STATE_INVALID, 'x', () => {
        throw own
      }),
    ).toThrow(own)
  })

  it.each([
    ['abc', '"abc"'],
    ['x'.repeat(50), `"${'x'.repeat(40)}…"`],
    [-0, '-0'],
    [1.5, '1.5'],
    [null, 'null'],
    [undefined, 'undefined'],
    [[1], 'an array'],
    [{}, 'an object'],
    [() => 1, 'a function'],
  ])('describe(%j) → %s', (x, text) => expect(describeValue(x)).toBe(text))

  it('describes a BigInt with its suffix', () => expect(describeValue(5n)).toBe('5n'))
})
