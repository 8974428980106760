import { describe, expect, it } from 'vitest'
import { readEntry, stateToDelta } from '../src/delta.js'
import { ErrorCodes, readDelta, readSummary } from '../src/index.js'

const code = (c: string) => expect.objectContaining({ code: c })

describe('readDelta', () => {
  it('returns a fresh copy, not the input', () => {
    const input = { ranges: [['a', 0, 1]], entries: [['x', 'a', 1, 0, 1]] }
    const out = readDelta(input)
    expect(out).toEqual(input)
    expect(out).not.toBe(input)
    expect(out.entries[0]).not.toBe(input.entries[0])
    input.entries[0]?.splice(0, 5)
    expect(out.entries[0]).toEqual(['x', 'a', 1, 0, 1])
  })

  it('accepts empty deltas and null-prototype objects', () => {
    expect(readDelta({ ranges: [], entries: [] })).toEqual({ ranges: [], entries: [] })
    expect(readDelta(Object.assign(Object.create(null), { ranges: [], entries: [] }))).toEqual({
      ranges: [],
      entries: [],
    })
  })

  it('names the position of the first bad element', () => {
    expect(() =>
      readDelta({
        ranges: [],
        entries: [
          ['x', 'a', 1, 0, 1],
          ['x', 'a', 1, 0],
        ],
      }),
    ).toThrow(/delta\.entries\[1\]/)
    expect(() =>
      readDelta({
        ranges: [
          ['a', 0, 1],
          ['a', 3, 2],
        ],
        entries: [],
      }),
    ).toThrow(/delta\.ranges\[1\]/)
  })
})

describe('readEntry', () => {
  it.each([
    [['x', 'a', 1, 0, 1], true],
    [['x', 'a', 0, 0, 0], true],
    [['x', 'a', 0, 1, 7], true],
    [['x', 'a', 1, 0, 0], false],
    [['x', 'a', 0, 1, 0], false],
    [['x', 'a', 1, 0, -1], false],
    [['x y', 'a', 1, 0, 1], false],
    [['x', '', 1, 0, 1], false],
  ] as Array<[[unknown, unknown, unknown, unknown, unknown], boolean]>)('%j valid: %s', (t, ok) => {
    const read = () => readEntry(...t, () => 'e', ErrorCodes.DELTA_INVALID)
    if (ok) expect(read()).toEqual(t)
    else expect(read).toThrow(code(ErrorCodes.DELTA_INVALID))
  })
})

describe('readSummary', () => {
  it.each([
    [{}, []],
    [{ a: 0 }, []],
    [
      { a: 3, b: 0, c: 1 },
      [
        ['a', 3],
        ['c', 1],
      ],
    ],
  ])('%j → %j', (input, entries) => {
    expect([...readSummary(input)]).toEqual(entries)
  })

  it('uses the code it is given', () => {
    expect(() => readSummary(null)).toThrow(code(ErrorCodes.DELTA_INVALID))
    expect(() => readSummary(null, ErrorCodes.STATE_INVALID)).toThrow(code(ErrorCodes.STATE_INVALID))
  })
})

describe('stateToDelta', () => {
  it('covers the whole state with ranges from 0', () => {
    expect(stateToDelta({ vv: { a: 2, b: 0 }, counters: { x: { a: [3, 1, 2] } } })).toEqual({
      ranges: [['a', 0, 2]],
      entries: [['x', 'a', 3, 1, 2]],
    })
    expect(stateToDelta({})).toEqual({ ranges: [], entries: [] })
  })
})
