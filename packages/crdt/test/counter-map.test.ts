import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap, type Delta, ErrorCodes } from '../src/index.js'
import { apply, historyArb, NAMES, opArb, REPLICAS, run, type Step } from './support/arbitraries.js'
import { canonEntries, canonMap, entryRows, wire } from './support/canonical.js'

const three = fc.tuple(historyArb, fc.nat(2), fc.nat(2), fc.nat(2))

function mergedOf(...states: ReturnType<CounterMap['state']>[]): CounterMap {
  const m = new CounterMap('observer')
  for (const s of states) m.merge(s)
  return m
}

describe('CounterMap API', () => {
  it('keeps the documented example working', () => {
    const m = new CounterMap('node-a')
    expect(m.increment('tenant-42', 3)).toBe(3)
    expect(m.value('tenant-42')).toBe(3)
    expect(m.names()).toEqual(['tenant-42'])
    expect(m.decrement('tenant-42')).toBe(2)
    expect(m.bigValue('tenant-42')).toBe(2n)
    expect(m.value('unknown')).toBe(0)
    expect(m.bigValue('unknown')).toBe(0n)
    expect(m.has('tenant-42')).toBe(true)
    expect(m.size).toBe(1)
    expect(m.seq).toBe(2)
    expect(m.replicas()).toEqual(['node-a'])
    expect(m.counterState('tenant-42')).toEqual({ p: { 'node-a': 3 }, n: { 'node-a': 1 } })
    expect(m.state()).toEqual({ vv: { 'node-a': 2 }, counters: { 'tenant-42': { 'node-a': [3, 1, 2] } } })
  })

  it('counts per name and replicates by deltas until digests agree', () => {
    const a = new CounterMap('a')
    const b = new CounterMap('b')
    a.increment('x', 5)
    a.decrement('x', 2)
    b.increment('y', 7)
    expect(a.digest()).not.toBe(b.digest())
    const forB = a.deltaSince(b.summary())
    const forA = b.deltaSince(a.summary())
    expect(b.applyDelta(forB)).toBe(true)
    expect(a.applyDelta(forA)).toBe(true)
    expect(a.digest()).toBe(b.digest())
    expect([a.value('x'), a.value('y'), b.value('x'), b.value('y')]).toEqual([3, 7, 3, 7])
    expect(a.deltaSince(b.summary())).toEqual({ ranges: [], entries: [] })
    expect(a.applyDelta(forA)).toBe(false)
  })

  it('state(names) returns only those counters with an empty summary, still mergeable', () => {
    const a = new CounterMap('a')
    a.increment('x', 2)
    a.increment('y', 3)
    const part = a.state(['y', 'missing'])
    expect(part).toEqual({ vv: {}, counters: { y: { a: [3, 0, 2] } } })
    const b = CounterMap.fromState('b', part)
    expect(b.value('y')).toBe(3)
    expect(b.value('x')).toBe(0)
    expect(() => a.state('xy' as unknown as string[])).toThrow(TypeError)
  })

  it('deltaFor refuses a nonsense seq as a programmer error (RangeError)', () => {
    const m = new CounterMap('a')
    expect(() => m.deltaFor('a', Number.NaN)).toThrow(RangeError)
    expect(() => m.deltaFor('a', -1)).toThrow(RangeError)
    expect(m.deltaFor('unknown', 0)).toEqual({ ranges: [], entries: [] })
  })

  it('never reuses its own seq after learning of itself from peers', () => {
    const a = new CounterMap('a')
    a.increment('x')
    a.increment('x')
    const restarted = CounterMap.fromState('a', a.state())
    expect(restarted.seq).toBe(2)
    restarted.increment('y')
    expect(restarted.seq).toBe(3)
    expect(restarted.summary()).toEqual({ a: 3 })
  })

  it('does not claim its own summary across a gap in what it knows of itself', () => {
    // A peer relayed a's op 3 but a's own rebuilt state only reaches op 1.
    const a = new CounterMap('a')
    a.applyDelta({ ranges: [['a', 0, 1]], entries: [['x', 'a', 1, 0, 1]] })
    a.applyDelta({ ranges: [['a', 2, 3]], entries: [['y', 'a', 1, 0, 3]] })
    expect(a.seq).toBe(3)
    a.increment('z')
    // op 2 is still missing: the summary must stay at 1, not jump to 4.
    expect(a.summary()).toEqual({ a: 1 })
    a.applyDelta({ ranges: [['a', 1, 2]], entries: [['w', 'a', 1, 0, 2]] })
    expect(a.summary()).toEqual({ a: 4 })
  })

  it('digests differ while a summary lags behind equal entries, and anti-entropy repairs it', () => {
    const a = new CounterMap('a')
    const b = new CounterMap('b')
    a.increment('x')
    const lost = a.deltaFor('a', 0)
    a.increment('x')
    b.applyDelta(wire(a.deltaFor('a', 1))) // op 2 arrives, op 1's message was lost
    expect(canonEntries(b)).toBe(canonEntries(a)) // op 2 superseded op 1's entry...
    expect(b.summary()).toEqual({}) // ...but b cannot know it has all of a up to 2
    expect(b.digest()).not.toBe(a.digest())
    b.applyDelta(wire(a.deltaSince(b.summary())))
    expect(b.summary()).toEqual({ a: 2 })
    expect(b.digest()).toBe(a.digest())
    expect(b.applyDelta(lost)).toBe(false)
  })

  it('round-trips through fromState (and through JSON)', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(2), (h, i) => {
        const m = run(h)[i] as CounterMap
        const copy = CounterMap.fromState(m.replica, wire(m.state()))
        expect(canonMap(copy)).toBe(canonMap(m))
        expect(copy.digest()).toBe(m.digest())
        expect(copy.seq).toBe(m.seq)
        for (const name of NAMES) expect(copy.value(name)).toBe(m.value(name))
      }),
    )
  })
})

describe('CounterMap laws', () => {
  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(three, ([h, i, j, k]) => {
        const maps = run(h)
        const [a, b, c] = [maps[i], maps[j], maps[k]].map((m) => (m as CounterMap).state()) as [
          ReturnType<CounterMap['state']>,
          ReturnType<CounterMap['state']>,
          ReturnType<CounterMap['state']>,
        ]
        expect(canonMap(mergedOf(a, b))).toBe(canonMap(mergedOf(b, a)))
        const left = mergedOf(mergedOf(a, b).state(), c)
        const right = mergedOf(a, mergedOf(b, c).state())
        expect(canonMap(left)).toBe(canonMap(right))
        expect(left.digest()).toBe(right.digest())
        const once = mergedOf(a)
        const before = canonMap(once)
        expect(once.merge(a)).toBe(false)
        expect(canonMap(once)).toBe(before)
      }),
    )
  })

  it('every replica entry only grows, and value = Σp − Σn', () => {
    fc.assert(
      fc.property(historyArb, historyArb, (h1, h2) => {
        const maps = run(h1)
        const before = maps.map((m) => entryRows(m.state()))
        for (const s of h2) apply(maps, s)
        maps.forEach((m, idx) => {
          const now = new Map(entryRows(m.state()).map((r) => [`${r[0]}/${r[1]}`, r]))
          for (const [name, r, p, n, seq] of before[idx] ?? []) {
            const e = now.get(`${name}/${r}`)
            expect(e).toBeDefined()
            expect(e?.[2]).toBeGreaterThanOrEqual(p)
            expect(e?.[3]).toBeGreaterThanOrEqual(n)
            expect(e?.[4]).toBeGreaterThanOrEqual(seq)
          }
          for (const name of NAMES) {
            const cs = m.counterState(name)
            const sum = (t: Record<string, number>) => Object.values(t).reduce((x, y) => x + y, 0)
            expect(m.value(name)).toBe(sum(cs.p) - sum(cs.n))
          }
        })
      }),
    )
  })

  it('eager deltas applied in any order, duplicated, equal merging the full states', () => {
    const arb = fc.array(opArb, { maxLength: 40 }).chain((ops) =>
      fc.tuple(
        fc.constant(ops),
        fc.shuffledSubarray(
          ops.map((_, i) => i),
          { minLength: ops.length, maxLength: ops.length },
        ),
        fc.array(fc.nat(Math.max(0, ops.length - 1)), { maxLength: 10 }),
      ),
    )
    fc.assert(
      fc.property(arb, ([ops, order, dups]) => {
        const maps = REPLICAS.map((r) => new CounterMap(r))
        const deltas: Delta[] = []
        for (const op of ops) {
          const m = maps[(op as Extract<Step, { at: number }>).at] as CounterMap
          const before = m.seq
          apply(maps, op)
          deltas.push(wire(m.deltaFor(m.replica, before)))
        }
        const viaDeltas = new CounterMap('observer')
        const schedule = [...order]
        // Re-deliver some deltas a second time, at arbitrary points of the schedule.
        if (ops.length > 0)
          for (const d of dups) schedule.splice(d % (schedule.length + 1), 0, d % ops.length)
        for (const i of schedule) viaDeltas.applyDelta(deltas[i])
        const viaStates = mergedOf(...maps.map((m) => m.state()))
        expect(canonMap(viaDeltas)).toBe(canonMap(viaStates))
        expect(viaDeltas.digest()).toBe(viaStates.digest())
      }),
    )
  })

  it('digest is equal iff the states (entries and summary) are equal', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(2), fc.nat(2), fc.boolean(), (h, i, j, sync) => {
        const maps = run(h)
        const a = maps[i] as CounterMap
        const b = maps[j] as CounterMap
        if (sync) {
          a.applyDelta(b.deltaSince(a.summary()))
          b.applyDelta(a.deltaSince(b.summary()))
        }
        expect(a.digest() === b.digest()).toBe(canonMap(a) === canonMap(b))
        // And against a fresh full walk: the incremental digest never drifts.
        expect(CounterMap.fromState('fresh', a.state()).digest()).toBe(a.digest())
      }),
    )
  })

  it('deltaSince(summary of an in-sync peer) is empty', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(2), fc.nat(2), (h, i, j) => {
        const maps = run(h)
        const a = maps[i] as CounterMap
        const b = maps[j] as CounterMap
        b.applyDelta(wire(a.deltaSince(b.summary())))
        a.applyDelta(wire(b.deltaSince(a.summary())))
        expect(a.digest()).toBe(b.digest())
        expect(a.deltaSince(b.summary())).toEqual({ ranges: [], entries: [] })
        expect(b.deltaSince(a.summary())).toEqual({ ranges: [], entries: [] })
      }),
    )
  })

  it('after k local ops the delta for an in-sync peer has at most k entries, whatever the state size', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const a = new CounterMap('a')
        for (let i = 0; i < 2000; i++) a.increment(`bulk-${i}`, 1 + (i % 7))
        const b = CounterMap.fromState('b', a.state())
        expect(a.deltaSince(b.summary()).entries).toHaveLength(0)
        for (const op of ops) apply([a, a, a], op)
        const d = a.deltaSince(b.summary())
        expect(d.entries.length).toBeLessThanOrEqual(ops.length)
        expect(d.ranges).toEqual([['a', 2000, 2000 + ops.length]])
        expect(JSON.stringify(d).length).toBeLessThan(200 + 120 * ops.length)
        b.applyDelta(wire(d))
        expect(b.digest()).toBe(a.digest())
      }),
      { numRuns: 25 },
    )
  })
})

describe('CounterMap exact arithmetic', () => {
  const MAX = Number.MAX_SAFE_INTEGER
  const isCode = (code: string) => expect.objectContaining({ code })

  it('refuses a total past 2^53−1 with TALLY_OVERFLOW and changes nothing', () => {
    const a = new CounterMap('a')
    a.increment('x', MAX)
    const before = canonMap(a)
    expect(() => a.increment('x')).toThrow(isCode(ErrorCodes.OVERFLOW))
    expect(canonMap(a)).toBe(before)
    a.decrement('x', MAX)
    expect(() => a.decrement('x', 1)).toThrow(isCode(ErrorCodes.OVERFLOW))
    expect(a.value('x')).toBe(0)
  })

  it('counts the totals of all replicas, not only its own', () => {
    const a = new CounterMap('a')
    a.merge({ vv: { b: 1 }, counters: { x: { b: [MAX - 1, 0, 1] } } })
    expect(() => a.increment('x', 2)).toThrow(isCode(ErrorCodes.OVERFLOW))
    expect(a.increment('x', 1)).toBe(MAX)
  })

  it('refuses a local operation once its operation numbers are exhausted (a peer claimed seq 2^53−1)', () => {
    const a = new CounterMap('a')
    a.applyDelta({ ranges: [], entries: [['x', 'a', 1, 0, MAX]] })
    expect(a.seq).toBe(MAX)
    const before = canonMap(a)
    expect(() => a.increment('y')).toThrow(isCode(ErrorCodes.OVERFLOW))
    expect(canonMap(a)).toBe(before)
  })

  it('merged totals past the limit: value throws TALLY_VALUE_UNSAFE, bigValue is exact', () => {
    const a = new CounterMap('a')
    a.increment('x', MAX)
    const b = new CounterMap('b')
    b.increment('x', MAX)
    a.merge(b.state())
    expect(() => a.value('x')).toThrow(isCode(ErrorCodes.VALUE_UNSAFE))
    expect(a.bigValue('x')).toBe(2n * BigInt(MAX))
    // Σp is past the limit: one more increment is an overflow.
    expect(() => a.increment('x')).toThrow(isCode(ErrorCodes.OVERFLOW))
    // A decrement that leaves the value unsafe is refused before anything changes...
    const before = canonMap(a)
    expect(() => a.decrement('x', 5)).toThrow(isCode(ErrorCodes.VALUE_UNSAFE))
    expect(canonMap(a)).toBe(before)
    // ...and one that brings it back into range is fine: value is exact, not a float guess.
    expect(a.decrement('x', MAX)).toBe(MAX)
    expect(a.value('x')).toBe(MAX)
  })
})

describe('CounterMap.stateSlice', () => {
  it('slices cover the state in creation order, at least one counter each, bounded by entries', () => {
    const m = new CounterMap('a')
    const peer = new CounterMap('b')
    for (let i = 0; i < 50; i++) {
      m.increment(`c${i}`, i + 1)
      if (i % 3 === 0) peer.decrement(`c${i}`, 2)
    }
    m.applyDelta(peer.deltaSince({}))
    const counters: Record<string, unknown> = {}
    const order: string[] = []
    let slices = 0
    for (let from = 0; from < m.size; slices++) {
      const s = m.stateSlice(from, 7)
      const names = Object.keys(s.counters)
      expect(names.length).toBeGreaterThan(0)
      const entries = names.reduce((k, n) => k + Object.keys(s.counters[n] ?? {}).length, 0)
      // Stops once it holds 7 entries: at most 7 + one counter's entries (2 replicas).
      expect(entries).toBeLessThanOrEqual(8)
      Object.assign(counters, s.counters)
      order.push(...names)
      expect(s.next).toBe(from + names.length)
      from = s.next
    }
    expect(slices).toBeGreaterThan(5)
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`))
    expect(counters).toEqual(m.state().counters)
    expect(m.stateSlice(m.size, 10)).toEqual({ counters: {}, next: m.size })
    expect(() => m.stateSlice(-1, 10)).toThrow(RangeError)
    expect(() => m.stateSlice(0, 0)).toThrow(RangeError)
  })

  it('a summary, then slices read while the map changes, form a state that merges to the same as the map at the start', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(30), fc.integer({ min: 1, max: 9 })), { maxLength: 120 }),
        (ops) => {
          const m = new CounterMap('a')
          for (let i = 0; i < 40; i++) m.increment(`c${i % 25}`, 1)
          const start = m.state()
          const vv = m.summary()
          const counters: Record<string, Record<string, [number, number, number]>> = {}
          let from = 0
          let k = 0
          while (from < m.size) {
            // Writes between slices, to known and new counters.
            const op = ops[k++]
            if (op) m.increment(`c${op[0]}`, op[1])
            const s = m.stateSlice(from, 3)
            Object.assign(counters, s.counters)
            from = s.next
          }
          const restored = CounterMap.fromState('x', { vv, counters })
          // Everything the start held is there; merging the start changes nothing.
          expect(restored.merge(start)).toBe(false)
          // And catching up from the live map ends equal.
          restored.applyDelta(m.deltaSince(restored.summary()))
          expect(restored.state()).toEqual(m.state())
        },
      ),
    )
  })
})

describe('CounterMap.stateColumns / mergeColumns', () => {
  it('columns of every slice merged into an empty map give the same entries; merging again changes nothing', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const replicas = run(h)
        const m = replicas[0] as CounterMap
        const copy = new CounterMap('z')
        let changed = false
        for (let from = 0; from < m.size; ) {
          const { columns, next } = m.stateColumns(from, 3)
          expect(next).toBeGreaterThan(from)
          // Through JSON, as through a disk format.
          changed = copy.mergeColumns(JSON.parse(JSON.stringify(columns))) || changed
          from = next
        }
        expect(changed).toBe(m.size > 0)
        expect(copy.state().counters).toEqual(m.state().counters)
        for (let from = 0; from < m.size; ) {
          const { columns, next } = m.stateColumns(from, 1000)
          expect(copy.mergeColumns(columns)).toBe(false)
          from = next
        }
      }),
    )
  })

  it.each([
    ['not an object', 5],
    ['an extra field', { names: [], replicas: [], rows: [], x: 1 }],
    ['a bad name', { names: [''], replicas: ['a'], rows: [0, 0, 1, 0, 1] }],
    ['a bad replica id', { names: ['c'], replicas: [''], rows: [0, 0, 1, 0, 1] }],
    ['a partial row', { names: ['c'], replicas: ['a'], rows: [0, 0, 1, 0] }],
    ['an index out of range', { names: ['c'], replicas: ['a'], rows: [1, 0, 1, 0, 1] }],
    ['a negative count', { names: ['c'], replicas: ['a'], rows: [0, 0, -1, 0, 1] }],
    ['an unsafe count', { names: ['c'], replicas: ['a'], rows: [0, 0, 2 ** 53, 0, 1] }],
    ['a non-zero entry at seq 0', { names: ['c'], replicas: ['a'], rows: [0, 0, 1, 0, 0] }],
    ['a later bad row', { names: ['c', 'd'], replicas: ['a'], rows: [0, 0, 1, 0, 1, 1, 0, 1.5, 0, 2] }],
  ])('refuses %s with TALLY_STATE_INVALID and changes nothing', (_label, input) => {
    const m = new CounterMap('a')
    m.increment('keep', 2)
    const before = m.digest()
    expect(() => m.mergeColumns(input)).toThrow(expect.objectContaining({ code: ErrorCodes.STATE_INVALID }))
    expect(m.digest()).toBe(before)
    expect(m.has('c')).toBe(false)
  })
})

describe('CounterMap.mergeColumns with repeated names and ids', () => {
  it('a name or replica id listed twice makes one counter and one entry (max of the rows)', () => {
    const m = new CounterMap('z')
    m.mergeColumns({ names: ['c', 'c'], replicas: ['a', 'a'], rows: [0, 0, 5, 0, 1, 1, 1, 7, 2, 3] })
    expect(m.size).toBe(1)
    expect(m.names()).toEqual(['c'])
    expect(m.state().counters).toEqual({ c: { a: [7, 2, 3] } })
    const ref = new CounterMap('z')
    ref.merge({ counters: { c: { a: [7, 2, 3] } } })
    expect(m.digest()).toBe(ref.digest())
  })
})
