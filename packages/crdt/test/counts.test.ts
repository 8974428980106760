import { describe, expect, it } from 'vitest'
import { checkLocalAdd, exactValue, floatSum, readCounts, toSafeNumber } from '../src/counts.js'
import { ErrorCodes } from '../src/index.js'

const MAX = Number.MAX_SAFE_INTEGER
const t = (...vs: number[]) => new Map(vs.map((v, i) => [`r${i}`, v]))
const code = (c: string) => expect.objectContaining({ code: c })

describe('floatSum is an exact test against 2^53−1', () => {
  it.each([
    [[MAX], false],
    [[MAX - 1, 1], false],
    [[MAX, 1], true],
    [[MAX, MAX], true],
    [[2 ** 52, 2 ** 52 - 1], false],
    [[2 ** 52, 2 ** 52], true],
    [[1, 1, MAX - 2], false],
    [[1, 1, MAX - 1], true],
  ])('%j past the limit: %s', (vs, past) => {
    expect(floatSum(t(...vs)) > MAX).toBe(past)
  })
})

describe('exactValue', () => {
  it.each([
    [[5], [3], 2],
    [[MAX], [], MAX],
    [[], [MAX], -MAX],
    [[MAX, MAX], [MAX, MAX - 7], 7],
    [[MAX, 2], [MAX], 2],
  ])('Σ%j − Σ%j = %s', (p, n, v) => {
    expect(exactValue(t(...p), t(...n), 'c')).toBe(v)
  })

  it.each([
    [[MAX, 1], []],
    [[], [MAX, 1]],
  ])('Σ%j − Σ%j is unsafe', (p, n) => {
    expect(() => exactValue(t(...p), t(...n), 'c')).toThrow(code(ErrorCodes.VALUE_UNSAFE))
  })
})

describe('checkLocalAdd', () => {
  it.each([
    [[MAX - 1], [], 1, 1, null],
    [[MAX - 1], [], 2, 1, ErrorCodes.OVERFLOW],
    [[MAX, 1], [], 1, 1, ErrorCodes.OVERFLOW],
    [[], [MAX, 2], 1, 1, ErrorCodes.VALUE_UNSAFE],
    [[], [MAX, 1], 1, 1, null],
    [[], [MAX, 2], 1, -1, ErrorCodes.VALUE_UNSAFE],
    [[], [MAX, 1], 2, 1, null],
    [[5], [MAX, MAX], MAX, -1, ErrorCodes.OVERFLOW],
  ] as Array<[number[], number[], number, 1 | -1, string | null]>)(
    'own %j other %j +%s (sign %s) → %s',
    (own, other, amount, sign, err) => {
      const call = () => checkLocalAdd(t(...own), t(...other), amount, sign, 'c')
      if (err === null) expect(call).not.toThrow()
      else expect(call).toThrow(code(err))
    },
  )
})

describe('toSafeNumber / readCounts', () => {
  it('converts only safe bigints', () => {
    expect(toSafeNumber(BigInt(MAX), 'v')).toBe(MAX)
    expect(toSafeNumber(-BigInt(MAX), 'v')).toBe(-MAX)
    expect(() => toSafeNumber(BigInt(MAX) + 1n, 'v')).toThrow(code(ErrorCodes.VALUE_UNSAFE))
  })

  it('drops zero entries and copies', () => {
    expect([...readCounts({ a: 0, b: 2, c: -0 }, 'p')]).toEqual([['b', 2]])
  })
})
