import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap, type Delta, ErrorCodes, type PackedColumns } from '../src/index.js'
import { historyArb, run } from './support/arbitraries.js'

/** Every packed slice of `m`, `per` entries at a time. */
function slices(m: CounterMap, per: number): PackedColumns[] {
  const out: PackedColumns[] = []
  for (let from = 0; from < m.counterNumbers; ) {
    const { columns, next } = m.packedColumns(from, per)
    out.push(columns)
    from = next
  }
  return out
}

/** `a` then `b` as one set of columns (names and replica ids may repeat), with the sum of their sums. */
function concat(a: PackedColumns, b: PackedColumns): PackedColumns {
  const cat = <T extends Uint8Array | Uint32Array | Float64Array>(x: T, y: T, make: (n: number) => T): T => {
    const out = make(x.length + y.length)
    out.set(x)
    out.set(y, x.length)
    return out
  }
  const shifted = b.entryReplicas.map((r) => r + a.replicas.length)
  return {
    nameBytes: cat(a.nameBytes, b.nameBytes, (n) => new Uint8Array(n)),
    nameLengths: cat(a.nameLengths, b.nameLengths, (n) => new Uint8Array(n)),
    entryCounts: cat(a.entryCounts, b.entryCounts, (n) => new Uint32Array(n)),
    replicas: [...a.replicas, ...b.replicas],
    entryReplicas: cat(a.entryReplicas, shifted, (n) => new Uint32Array(n)),
    values: cat(a.values, b.values, (n) => new Float64Array(n)),
    hashSum: {
      h1: ((a.hashSum?.h1 ?? 0) + (b.hashSum?.h1 ?? 0)) >>> 0,
      h2: ((a.hashSum?.h2 ?? 0) + (b.hashSum?.h2 ?? 0)) >>> 0,
    },
  }
}

function without(c: PackedColumns): PackedColumns {
  const { hashSum: _, ...rest } = c
  return rest
}

/**
 * A delta with its entries and ranges in one order. The order of a delta's
 * tuples follows the order a map learned them in, which a load from slices
 * does not keep (slices go by counter); a merge does not depend on it.
 */
function ordered(d: Delta): Delta {
  const key = (t: readonly unknown[]) => JSON.stringify(t)
  return {
    entries: [...d.entries].sort((a, b) => key(a).localeCompare(key(b))),
    ranges: [...d.ranges].sort((a, b) => key(a).localeCompare(key(b))),
  }
}

/** What must be equal between the trusted and the hashing load: state, digest, seq and the change logs. */
function observe(m: CounterMap) {
  return {
    state: m.state(),
    digest: m.digest(),
    seq: m.seq,
    size: m.size,
    replicas: [...m.replicas()].sort(),
    delta: ordered(m.deltaSince({})),
    deltaAfter: ordered(m.deltaSince(Object.fromEntries(m.replicas().map((r) => [r, 3])))),
  }
}

describe('CounterMap.mergePacked with a hashSum (the bulk load of a snapshot)', () => {
  it('packedColumns carries the slice digest contribution: an empty map loading every slice gets the digest of the source', () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: 1, max: 4 }), (h, per) => {
        const m = run(h)[0] as CounterMap
        const copy = new CounterMap('a')
        for (const s of slices(m, per)) {
          expect(s.hashSum).toBeDefined()
          copy.mergePacked(s)
        }
        copy.merge({ vv: m.summary(), counters: {} })
        expect(observe(copy)).toEqual(observe(m))
      }),
    )
  })

  it('gives the same state, digest, seq and change logs as the load that hashes each entry, whatever the map holds already (names and ids repeated within the columns too)', () => {
    fc.assert(
      fc.property(historyArb, historyArb, historyArb, (h1, h2, h3) => {
        const source = run(h1)
        const other = run(h2)
        const target = () => run(h3)[1] as CounterMap
        const fast = target()
        const slow = target()
        const columns = concat(
          (source[0] as CounterMap).packedColumns(0, 1e9).columns,
          (other[2] as CounterMap).packedColumns(0, 1e9).columns,
        )
        expect(fast.mergePacked(columns)).toBe(slow.mergePacked(without(columns)))
        expect(observe(fast)).toEqual(observe(slow))
        // Loading the same again changes nothing, either way.
        expect(fast.mergePacked(columns)).toBe(false)
        expect(observe(fast)).toEqual(observe(slow))
      }),
    )
  })

  it('trusts the sum for entries it adds: a wrong one makes the digest wrong, never a value', () => {
    const m = new CounterMap('a')
    m.increment('x', 3)
    m.increment('y', 4)
    const { columns } = m.packedColumns(0, 10)
    const sum = columns.hashSum as { h1: number; h2: number }
    const copy = new CounterMap('b')
    copy.mergePacked({ ...columns, hashSum: { h1: (sum.h1 + 1) >>> 0, h2: sum.h2 } })
    expect(copy.state().counters).toEqual(m.state().counters)
    const right = new CounterMap('b')
    right.mergePacked(without(columns))
    expect(copy.digest()).not.toBe(right.digest())
  })

  it.each([
    ['not an object', 5],
    ['a lane out of range', { h1: 2 ** 32, h2: 0 }],
    ['a negative lane', { h1: -1, h2: 0 }],
    ['a fractional lane', { h1: 1.5, h2: 0 }],
    ['a missing lane', { h1: 1 }],
    ['null', null],
  ])('refuses a hashSum that is %s with TALLY_STATE_INVALID and changes nothing', (_label, hashSum) => {
    const source = new CounterMap('a')
    source.increment('x', 1)
    const m = new CounterMap('b')
    m.increment('keep', 2)
    const before = m.digest()
    expect(() => m.mergePacked({ ...source.packedColumns(0, 10).columns, hashSum })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(m.digest()).toBe(before)
    expect(m.has('x')).toBe(false)
  })
})
