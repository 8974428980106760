import { describe, expect, it } from 'vitest'
import { coalesce, MAX_PENDING_RANGES, VersionVector } from '../src/version-vector.js'

describe('VersionVector.advance', () => {
  it.each([
    ['contiguous from zero', [[0, 3]], 3],
    [
      'joins at the edge',
      [
        [0, 3],
        [3, 5],
      ],
      5,
    ],
    [
      'overlap joins',
      [
        [0, 3],
        [2, 6],
      ],
      6,
    ],
    [
      'gap parks',
      [
        [0, 3],
        [4, 6],
      ],
      3,
    ],
    [
      'gap filled later',
      [
        [0, 3],
        [4, 6],
        [3, 4],
      ],
      6,
    ],
    [
      'several parked ranges chain',
      [
        [5, 6],
        [2, 3],
        [3, 5],
        [0, 2],
      ],
      6,
    ],
    [
      'stale range ignored',
      [
        [0, 9],
        [1, 4],
      ],
      9,
    ],
    ['empty range at the edge', [[0, 0]], 0],
  ] as Array<[string, Array<[number, number]>, number]>)('%s', (_l, ranges, expected) => {
    const vv = new VersionVector()
    for (const [f, t] of ranges) vv.advance('r', f, t)
    expect(vv.get('r')).toBe(expected)
  })

  it('returns whether the summary moved', () => {
    const vv = new VersionVector()
    expect(vv.advance('r', 1, 2)).toBe(false)
    expect(vv.advance('r', 0, 1)).toBe(true)
    expect(vv.get('r')).toBe(2)
    expect(vv.advance('r', 0, 2)).toBe(false)
  })

  it('parks at most MAX_PENDING_RANGES disjoint ranges, dropping the latest ones', () => {
    const vv = new VersionVector()
    for (let i = 1; i <= MAX_PENDING_RANGES + 10; i++) vv.advance('r', 2 * i, 2 * i + 1)
    expect(vv.pending('r')).toHaveLength(MAX_PENDING_RANGES)
    vv.advance('r', 0, 2)
    // Joins up to the last range kept; the rest comes back with the next anti-entropy round.
    expect(vv.get('r')).toBe(3)
  })

  it('coalesces consecutive single-op ranges into one', () => {
    const vv = new VersionVector()
    for (let s = 10; s < 200; s++) vv.advance('r', s, s + 1)
    expect(vv.pending('r')).toEqual([[10, 200]])
    vv.advance('r', 0, 10)
    expect(vv.get('r')).toBe(200)
    expect(vv.pending('r')).toEqual([])
  })

  it('hash is order-independent and tracks the summary', () => {
    const a = new VersionVector()
    const b = new VersionVector()
    a.advance('x', 0, 2)
    a.advance('y', 0, 1)
    b.advance('y', 0, 1)
    expect(a.hash()).not.toEqual(b.hash())
    b.advance('x', 0, 1)
    b.advance('x', 1, 2)
    expect(a.hash()).toEqual(b.hash())
    expect(a.toObject()).toEqual({ x: 2, y: 1 })
  })
})

describe('coalesce', () => {
  it.each([
    [[], []],
    [[[1, 2]], [[1, 2]]],
    [
      [
        [3, 4],
        [1, 2],
      ],
      [
        [1, 2],
        [3, 4],
      ],
    ],
    [
      [
        [1, 2],
        [2, 3],
      ],
      [[1, 3]],
    ],
    [
      [
        [1, 5],
        [2, 3],
      ],
      [[1, 5]],
    ],
    [
      [
        [4, 6],
        [1, 4],
        [8, 9],
      ],
      [
        [1, 6],
        [8, 9],
      ],
    ],
  ] as Array<[Array<[number, number]>, Array<[number, number]>]>)('%j → %j', (input, out) => {
    expect(coalesce(input)).toEqual(out)
  })
})
