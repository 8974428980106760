// CounterMap.drop: a dropped counter is gone as if never written (names,
// size, state, slices, columns, deltas, digest), its number, rows and name
// bytes are given to later counters, and every other counter is untouched.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap, ErrorCodes } from '../src/index.js'
import { NameArena } from '../src/name-arena.js'
import { NameIndex } from '../src/name-index.js'
import { canonMap, entryRows } from './support/canonical.js'

type Op = { kind: 'inc' | 'dec'; name: number; amount: number; at: number } | { kind: 'drop'; name: number }
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('inc' as const, 'dec' as const),
      name: fc.nat(11),
      amount: fc.integer({ min: 1, max: 9 }),
      at: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), name: fc.nat(11) }) },
)
const nameOf = (i: number) => `c-${i}${'x'.repeat(i * 9)}`

/** Every counter from number 0 on, read in slices of `max` entries, as one state. */
function sliced(m: CounterMap, max: number): Record<string, Record<string, [number, number, number]>> {
  const out: Record<string, Record<string, [number, number, number]>> = {}
  for (let from = 0; from < m.counterNumbers; ) {
    const { counters, next } = m.stateSlice(from, max)
    Object.assign(out, counters)
    from = next
  }
  return out
}

describe('CounterMap.drop', () => {
  it('leaves the map as a map built from the remaining counters alone', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 1, max: 4 }), (ops, max) => {
        const peers = ['a', 'b', 'c'].map((r) => new CounterMap(r))
        const m = new CounterMap('obs')
        for (const op of ops) {
          if (op.kind === 'drop') {
            const had = m.has(nameOf(op.name))
            expect(m.drop(nameOf(op.name))).toBe(had)
            expect(m.has(nameOf(op.name))).toBe(false)
            continue
          }
          const p = peers[op.at] as CounterMap
          const before = p.seq
          if (op.kind === 'inc') p.increment(nameOf(op.name), op.amount)
          else p.decrement(nameOf(op.name), op.amount)
          m.applyDelta(p.deltaFor(p.replica, before))
        }
        const s = m.state()
        const rebuilt = CounterMap.fromState('obs', s)
        expect(canonMap(m)).toBe(canonMap(rebuilt))
        expect(m.digest()).toBe(rebuilt.digest())
        expect(m.names()).toEqual(rebuilt.names())
        expect(m.size).toBe(Object.keys(s.counters).length)
        expect(sliced(m, max)).toEqual(s.counters)
        // Deltas from an empty summary carry exactly the held entries.
        const again = new CounterMap('z')
        again.applyDelta(m.deltaSince({}))
        expect(entryRows(again.state())).toEqual(entryRows(s))
        // Columns: the same entries.
        const cols = new CounterMap('z')
        for (let from = 0; from < m.counterNumbers; ) {
          const { columns, next } = m.stateColumns(from, max)
          cols.mergeColumns(columns)
          from = next
        }
        expect(entryRows(cols.state())).toEqual(entryRows(s))
      }),
      { numRuns: 300 },
    )
  })

  it('a dropped counter written again starts afresh and is listed again', () => {
    const m = new CounterMap('a')
    m.increment('gone', 5)
    m.increment('kept', 2)
    const keptDigest = CounterMap.fromState('a', {
      vv: m.summary(),
      counters: { kept: m.state().counters.kept ?? {} },
    })
    expect(m.drop('gone')).toBe(true)
    expect(m.drop('gone')).toBe(false)
    expect([m.has('gone'), m.value('gone'), m.names(), m.size]).toEqual([false, 0, ['kept'], 1])
    expect(m.digest()).toBe(keptDigest.digest())
    expect(m.increment('gone', 1)).toBe(1)
    expect(m.names()).toEqual(['gone', 'kept'])
    expect(m.counterNumbers).toBe(2) // the dropped number was given to the new counter
    expect(() => m.drop('')).toThrow(expect.objectContaining({ code: ErrorCodes.NAME_INVALID }))
  })

  it('gives numbers, rows and name bytes back: a long drop cycle does not grow the map', () => {
    const m = new CounterMap('a')
    const peer = new CounterMap('b')
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 2000; i++) {
        m.increment(`r${round}-counter-${i}`, 1)
        const before = peer.seq
        peer.increment(`r${round}-counter-${i}`, 1)
        m.applyDelta(peer.deltaFor('b', before))
      }
      for (let i = 0; i < 2000; i++) m.drop(`r${round}-counter-${i}`)
    }
    expect(m.size).toBe(0)
    expect(m.counterNumbers).toBe(2000) // numbers reused, round after round
    expect(m.digest().startsWith('0:')).toBe(true) // no entry left
    expect(m.deltaSince({}).entries).toEqual([])
  })
})

describe('NameIndex.remove and NameArena reuse/compact', () => {
  it('behaves as a Map of name to number under adds and removes, numbers reused', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(300)), { maxLength: 600 }), (steps) => {
        const arena = new NameArena()
        const index = new NameIndex(arena)
        const model = new Map<string, number>()
        const free: number[] = []
        for (const [add, k] of steps) {
          const name = `n${k}`
          const known = index.get(name)
          expect(known).toBe(model.get(name))
          if (add && known === undefined) {
            const reused = free.pop()
            const c = reused ?? arena.count
            if (reused === undefined) arena.add(name)
            else arena.reuse(c, name)
            index.add(name, c)
            model.set(name, c)
          } else if (!add && known !== undefined) {
            expect(index.remove(known)).toBe(true)
            arena.release(known)
            model.delete(name)
            free.push(known)
          }
        }
        const live = new Set(model.values())
        arena.compact((c) => live.has(c))
        expect(arena.deadBytes).toBe(0)
        for (const [name, c] of model) {
          expect(index.get(name)).toBe(c)
          expect(arena.name(c)).toBe(name)
        }
      }),
    )
  })

  it('grows one of its tables at a time: at 100 000 names none has 8 192 slots, and every name is found', () => {
    const arena = new NameArena()
    const index = new NameIndex(arena)
    for (let i = 0; i < 100_000; i++) {
      const name = `user:${i}`
      arena.add(name)
      index.add(name, i)
    }
    // About 1 600 names a table (64 of them) fit 4 096 slots at most half full; one table would need 262 144.
    expect(index.largestTable).toBeLessThan(8192)
    expect(index.slots).toBeLessThanOrEqual(4 * 100_000)
    for (let i = 0; i < 100_000; i += 7) expect(index.get(`user:${i}`)).toBe(i)
    expect(index.get('user:100000')).toBeUndefined()
    expect(index.remove(100_000)).toBe(false)
    expect(index.remove(-1)).toBe(false)
  })

  it('reserve sizes every table as holding that many names would have grown it: adding them then re-places none', () => {
    const grown = new NameIndex(new NameArena())
    const arena = new NameArena()
    const index = new NameIndex(arena)
    index.reserve(100_000)
    // 2 × 100 000 / 64 = 3 125 slots a table at most half full: 4 096.
    expect(index.slots).toBe(64 * 4096)
    const names = Array.from({ length: 100_000 }, (_, i) => `user:${i}`)
    for (const [i, name] of names.entries()) {
      arena.add(name)
      index.add(name, i)
      grown.add(name, i)
    }
    expect(index.slots).toBe(64 * 4096)
    expect(grown.slots).toBe(index.slots)
    for (let i = 0; i < 100_000; i += 7) expect(index.get(`user:${i}`)).toBe(i)
    // A hint only: never shrinks; a smaller or zero reservation changes nothing.
    index.reserve(10)
    index.reserve(0)
    expect(index.slots).toBe(64 * 4096)
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => index.reserve(bad)).toThrow(RangeError)
  })

  it('CounterMap.reserve: the same map either way; bad counts throw RangeError; past 2^22 it reserves 2^22', () => {
    const a = new CounterMap('r.1')
    const b = new CounterMap('r.1')
    b.reserve(5000)
    for (let i = 0; i < 5000; i++) {
      a.increment(`n${i}`, i + 1)
      b.increment(`n${i}`, i + 1)
    }
    expect(b.digest()).toBe(a.digest())
    expect(b.state()).toEqual(a.state())
    for (const bad of [-1, 0.5, Number.NaN, '10', undefined])
      expect(() => b.reserve(bad as number)).toThrow(RangeError)
    const c = new CounterMap('r.1')
    c.reserve(Number.MAX_SAFE_INTEGER)
    c.increment('x', 2)
    expect(c.value('x')).toBe(2)
  })

  it('compaction gives the bytes of released names back', () => {
    const arena = new NameArena()
    for (let i = 0; i < 5000; i++) arena.add(`name-${i}-${'y'.repeat(40)}`)
    const full = arena.bytes
    for (let i = 0; i < 5000; i += 2) arena.release(i)
    arena.compact((c) => c % 2 === 1)
    expect(arena.bytes).toBeLessThan(full / 2 + (1 << 16))
    for (let i = 1; i < 5000; i += 2) expect(arena.name(i)).toBe(`name-${i}-${'y'.repeat(40)}`)
    expect(() => arena.reuse(5000, 'x')).toThrow(RangeError)
  })
})
