import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap } from '../src/counter-map.js'
import { EntryTable } from '../src/entry-table.js'
import { NARROW_MAX, ValuePages } from '../src/value-pages.js'

describe('ValuePages', () => {
  it('keeps values up to 2^32−1 in narrow pages and promotes only the page that gets a larger one', () => {
    const v = new ValuePages(4, 3)
    for (let p = 0; p < 3; p++) v.addPage()
    expect(v.bytes).toBe(3 * 4 * 3 * 4)
    v.set3(0, 1, NARROW_MAX, 7)
    v.set3(5, 3, 0, NARROW_MAX)
    expect(v.widePages).toBe(0)
    // Row 6 is in page 1: only that page widens, and its other rows keep their values.
    v.set3(6, NARROW_MAX + 1, 2, Number.MAX_SAFE_INTEGER)
    expect(v.widePages).toBe(1)
    expect(v.bytes).toBe(2 * 48 + 96)
    expect([v.get(5, 0), v.get(5, 1), v.get(5, 2)]).toEqual([3, 0, NARROW_MAX])
    expect([v.get(6, 0), v.get(6, 1), v.get(6, 2)]).toEqual([NARROW_MAX + 1, 2, Number.MAX_SAFE_INTEGER])
    expect([v.get(0, 0), v.get(0, 1), v.get(0, 2)]).toEqual([1, NARROW_MAX, 7])
    // A second large value in a wide page, and one through set(): no second promotion of that page.
    v.set(7, 1, 2 ** 40)
    expect(v.widePages).toBe(1)
    v.set(9, 2, 2 ** 33)
    expect(v.widePages).toBe(2)
    expect(v.get(9, 2)).toBe(2 ** 33)
    expect(v.get(7, 1)).toBe(2 ** 40)
  })

  it('refuses a page size that is not a power of two, and a bad width (RangeError)', () => {
    expect(() => new ValuePages(6, 3)).toThrow(RangeError)
    expect(() => new ValuePages(0, 3)).toThrow(RangeError)
    expect(() => new ValuePages(8, 0)).toThrow(RangeError)
  })

  it('reads back what was set, whatever mix of small and large values (model)', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: NARROW_MAX - 2, max: NARROW_MAX + 2 }),
      fc.constantFrom(2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER),
    )
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 63 }), value, value, value)), (sets) => {
        const v = new ValuePages(8, 3)
        for (let p = 0; p < 8; p++) v.addPage()
        const model = new Map<number, [number, number, number]>()
        for (const [row, a, b, c] of sets) {
          v.set3(row, a, b, c)
          model.set(row, [a, b, c])
        }
        for (let row = 0; row < 64; row++) {
          expect([v.get(row, 0), v.get(row, 1), v.get(row, 2)]).toEqual(model.get(row) ?? [0, 0, 0])
        }
      }),
    )
  })
})

describe('EntryTable values past 2^32−1', () => {
  it('promotes the page of an entry that passes 2^32−1 and keeps every entry exact', () => {
    const t = new EntryTable()
    const r = t.replicaFor('a')
    const rows: number[] = []
    for (let i = 0; i < 10_000; i++) {
      const e = t.add(t.addCounter(`c${i}`), r)
      t.set(e, i, 0, i + 1)
      rows.push(e)
    }
    expect(t.widePages).toBe(0)
    const big = rows[9_000] as number
    t.set(big, 2 ** 32, 2 ** 52, Number.MAX_SAFE_INTEGER)
    expect(t.widePages).toBe(1)
    expect([t.p(big), t.n(big), t.seq(big)]).toEqual([2 ** 32, 2 ** 52, Number.MAX_SAFE_INTEGER])
    for (let i = 0; i < 10_000; i++) {
      if (i === 9_000) continue
      const e = rows[i] as number
      expect([t.p(e), t.n(e), t.seq(e)]).toEqual([i, 0, i + 1])
    }
  })
})

describe('CounterMap with large totals and operation numbers', () => {
  it('holds totals and seqs past 2^32−1 exactly, and its states and digests agree with a small-valued copy merged later', () => {
    const a = new CounterMap('a')
    for (let i = 0; i < 9_000; i++) a.increment(`n${i}`, 1)
    // A peer whose totals and seqs pass 2^32−1, in a counter whose entries share a page with small ones.
    a.applyDelta({
      ranges: [['b', 0, 2 ** 40]],
      entries: [
        ['n8999', 'b', 2 ** 33 + 5, 3, 2 ** 40],
        ['n1', 'b', 7, 2 ** 32, 2 ** 35],
      ],
    })
    expect(a.value('n8999')).toBe(2 ** 33 + 5 + 1 - 3)
    expect(a.value('n1')).toBe(1 + 7 - 2 ** 32)
    expect(a.counterState('n8999').p).toEqual({ a: 1, b: 2 ** 33 + 5 })
    const b = CounterMap.fromState('c', JSON.parse(JSON.stringify(a.state())))
    expect(b.digest()).toBe(a.digest())
    expect(b.deltaSince({ a: 9_000 }).entries).toEqual([
      ['n1', 'b', 7, 2 ** 32, 2 ** 35],
      ['n8999', 'b', 2 ** 33 + 5, 3, 2 ** 40],
    ])
    // The same through packed columns (the snapshot path).
    const c = new CounterMap('c')
    for (let from = 0; from < a.counterNumbers; ) {
      const { columns, next } = a.packedColumns(from, 2048)
      c.mergePacked(columns)
      from = next
    }
    c.applyDelta({ ranges: Object.entries(a.summary()).map(([r, s]) => [r, 0, s]), entries: [] })
    expect(c.digest()).toBe(a.digest())
    expect(c.value('n1')).toBe(a.value('n1'))
  })
})
