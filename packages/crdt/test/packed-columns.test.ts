import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap, ErrorCodes, packColumns, readPacked, type StateColumns } from '../src/index.js'
import { historyArb, run } from './support/arbitraries.js'

/** Random plain columns: repeated names and ids, zero entries, any order. */
const columnsArb: fc.Arbitrary<StateColumns> = fc
  .tuple(
    fc.array(fc.constantFrom('c', 'd', 'page:1', 'x-y'), { minLength: 1, maxLength: 5 }),
    fc.array(fc.constantFrom('a', 'b', 'z'), { minLength: 1, maxLength: 3 }),
  )
  .chain(([names, replicas]) =>
    fc
      .array(
        fc.tuple(
          fc.nat(names.length - 1),
          fc.nat(replicas.length - 1),
          fc.nat(20),
          fc.nat(20),
          fc.integer({ min: 1, max: 30 }),
        ),
        { maxLength: 12 },
      )
      .map((rows) => ({ names, replicas, rows: rows.flat() })),
  )

describe('CounterMap.packedColumns / mergePacked', () => {
  it('packed slices merged into an empty map give the same state and digest; merging again changes nothing', () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: 1, max: 5 }), (h, per) => {
        const m = run(h)[0] as CounterMap
        const copy = new CounterMap('z')
        let changed = false
        for (let from = 0; from < m.size; ) {
          const { columns, next } = m.packedColumns(from, per)
          // Same counters as the plain slice.
          expect(next).toBe(m.stateColumns(from, per).next)
          changed = copy.mergePacked(columns) || changed
          from = next
        }
        expect(changed).toBe(m.size > 0)
        expect(copy.state().counters).toEqual(m.state().counters)
        // The digest covers the summary too, which columns do not carry.
        copy.merge({ vv: m.summary(), counters: {} })
        expect(copy.digest()).toBe(m.digest())
        for (let from = 0; from < m.size; ) {
          const { columns, next } = m.packedColumns(from, 1000)
          expect(copy.mergePacked(columns)).toBe(false)
          from = next
        }
      }),
    )
  })

  it('merges like mergeColumns of the same columns, into an empty map or one holding some of them', () => {
    fc.assert(
      fc.property(columnsArb, columnsArb, (before, cols) => {
        const a = new CounterMap('z')
        const b = new CounterMap('z')
        a.mergeColumns(before)
        b.mergeColumns(before)
        expect(b.mergePacked(packColumns(cols))).toBe(a.mergeColumns(cols))
        expect(b.state()).toEqual(a.state())
        expect(b.digest()).toBe(a.digest())
        expect(b.size).toBe(a.size)
        expect(b.replicas()).toEqual(a.replicas())
      }),
    )
  })

  const good = () => ({
    nameBytes: new Uint8Array([0x63, 0x64, 0x64]),
    nameLengths: new Uint8Array([1, 2]),
    entryCounts: new Uint32Array([1, 1]),
    replicas: ['a'],
    entryReplicas: new Uint32Array([0, 0]),
    values: new Float64Array([1, 0, 1, 2, 0, 2]),
  })
  const with_ = (patch: Record<string, unknown>) => ({ ...good(), ...patch })

  it('reads well-formed columns', () => {
    const m = new CounterMap('z')
    expect(m.mergePacked(good())).toBe(true)
    expect(m.state().counters).toEqual({ c: { a: [1, 0, 1] }, dd: { a: [2, 0, 2] } })
  })

  it.each([
    ['not an object', 5],
    ['names as an array', with_({ nameBytes: [0x63, 0x64, 0x64] })],
    ['counts of the wrong type', with_({ entryCounts: new Uint8Array([1, 1]) })],
    ['values of the wrong type', with_({ values: [1, 0, 1, 2, 0, 2] })],
    ['a name with a space', with_({ nameBytes: new Uint8Array([0x63, 0x20, 0x64]) })],
    ['a name of length 0', with_({ nameLengths: new Uint8Array([0, 3]) })],
    ['names longer than their bytes', with_({ nameLengths: new Uint8Array([1, 3]) })],
    ['bytes left over', with_({ nameLengths: new Uint8Array([1, 1]) })],
    [
      'the reserved name',
      with_({ nameBytes: new TextEncoder().encode('c__proto__'), nameLengths: new Uint8Array([1, 9]) }),
    ],
    ['a bad replica id', with_({ replicas: [''] })],
    ['counts not adding up', with_({ entryCounts: new Uint32Array([1, 2]) })],
    ['one count missing', with_({ entryCounts: new Uint32Array([2]) })],
    ['values of another length', with_({ values: new Float64Array([1, 0, 1, 2, 0]) })],
    ['a replica out of range', with_({ entryReplicas: new Uint32Array([0, 1]) })],
    ['a negative count', with_({ values: new Float64Array([1, 0, 1, -2, 0, 2]) })],
    ['a fractional count', with_({ values: new Float64Array([1, 0, 1, 2.5, 0, 2]) })],
    ['an unsafe count', with_({ values: new Float64Array([1, 0, 1, 2 ** 53, 0, 2]) })],
    ['NaN', with_({ values: new Float64Array([1, 0, 1, Number.NaN, 0, 2]) })],
    ['a non-zero entry at seq 0', with_({ values: new Float64Array([1, 0, 1, 2, 0, 0]) })],
  ])('refuses %s with TALLY_STATE_INVALID and changes nothing', (_label, input) => {
    const m = new CounterMap('a')
    m.increment('keep', 2)
    const before = m.digest()
    expect(() => m.mergePacked(input)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect(m.digest()).toBe(before)
    expect(m.has('c')).toBe(false)
  })

  it('packColumns refuses what readPacked would, and packedColumns refuses bad arguments', () => {
    expect(() => packColumns({ names: ['a b'], replicas: ['a'], rows: [0, 0, 1, 0, 1] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(() => packColumns({ names: ['c'], replicas: ['a'], rows: [1, 0, 1, 0, 1] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(() => readPacked(null)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    const m = new CounterMap('a')
    expect(() => m.packedColumns(-1, 5)).toThrow(RangeError)
    expect(() => m.packedColumns(0, 0)).toThrow(RangeError)
  })
})
