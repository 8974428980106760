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
  it('leaves dropped counters out, and a number given out again carries its new name (bytes too)', () => {
    const m = new CounterMap('r1')
    for (const name of ['a', 'bb', 'c', 'dd', 'e']) m.increment(name, 2)
    m.drop('bb')
    m.drop('dd')
    // 1000 long names dropped: past a page of dead bytes the arena compacts, and a
    // dropped counter's name bytes are then gone (reading them would be garbage).
    const long = (i: number) => `${'x'.repeat(100)}-${i}`
    for (let i = 0; i < 1000; i++) m.increment(long(i), 1)
    for (let i = 0; i < 1000; i++) m.drop(long(i))
    const out = new CounterMap('r2')
    for (let from = 0; ; ) {
      const { columns, next } = m.packedColumns(from, 1)
      out.mergePacked(columns)
      if (next >= m.counterNumbers) break
      from = next
    }
    expect(out.names().sort()).toEqual(['a', 'c', 'e'])
    // The same state as the plain columns give (a digest covers seq too, so compare like with like).
    const plain = new CounterMap('r2')
    plain.mergeColumns(m.stateColumns(0, 1000).columns)
    expect(out.digest()).toBe(plain.digest())
    // A new counter takes a dropped number; bytes merged in take the other one.
    m.increment('fresh', 1)
    const packed = new CounterMap('r3')
    packed.increment('zz', 4)
    m.mergePacked(packed.packedColumns(0, 100).columns)
    expect(m.value('zz')).toBe(4)
    expect(m.value('fresh')).toBe(1)
    expect(m.names().sort()).toEqual(['a', 'c', 'e', 'fresh', 'zz'])
    const again = new CounterMap('r4')
    again.mergePacked(m.packedColumns(0, 1000).columns)
    const againPlain = new CounterMap('r4')
    againPlain.mergeColumns(m.stateColumns(0, 1000).columns)
    expect(again.digest()).toBe(againPlain.digest())
    expect(again.names().sort()).toEqual(['a', 'c', 'e', 'fresh', 'zz'])
    expect(m.counterNumbers).toBe(1003) // 5 + 1000, two of them given dropped numbers
  })

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
