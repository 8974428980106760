import { CounterMap, type Delta } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StateFold } from '../../src/storage/recovery-fold.js'

/** Deltas from 3 replicas doing random ops, exchanged with deltaFor/deltaSince; then shuffled and duplicated. */
const scenario = fc
  .record({
    ops: fc.array(
      fc.record({
        replica: fc.integer({ min: 0, max: 2 }),
        name: fc.constantFrom('a', 'b', 'c'),
        amount: fc.integer({ min: 1, max: 1000 }),
        dec: fc.boolean(),
        sync: fc.boolean(),
      }),
      { maxLength: 60 },
    ),
    seed: fc.integer(),
  })
  .map(({ ops, seed }) => {
    const maps = [0, 1, 2].map((i) => new CounterMap(`r${i}.1`))
    const deltas: Delta[] = []
    for (const o of ops) {
      const m = maps[o.replica]!
      const before = m.seq
      if (o.dec) m.decrement(o.name, o.amount)
      else m.increment(o.name, o.amount)
      deltas.push(m.deltaFor(m.replica, before))
      if (o.sync) {
        const other = maps[(o.replica + 1) % 3]!
        const d = m.deltaSince(other.summary())
        other.applyDelta(d)
        deltas.push(d)
      }
    }
    // Deterministic shuffle with duplicates.
    let s = seed >>> 0
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      return s / 2 ** 32
    }
    const out = [...deltas, ...deltas.filter(() => next() < 0.2)]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return { deltas: out, half: Math.floor(out.length / 2) }
  })

describe('StateFold', () => {
  it('gives the same state as a CounterMap applying the same deltas (from a snapshot too)', () => {
    fc.assert(
      fc.property(scenario, ({ deltas, half }) => {
        const before = new CounterMap('x.1')
        for (const d of deltas.slice(0, half)) before.applyDelta(d)
        // A snapshot holds no parked out-of-order ranges (state() has none): both sides start from it.
        const snapshot = before.state()
        const ref = CounterMap.fromState('x.1', snapshot)
        for (const d of deltas.slice(half)) ref.applyDelta(d)

        const fold = new StateFold(snapshot)
        for (const d of deltas.slice(half)) expect(fold.apply(d)).toBeNull()
        expect(fold.state()).toEqual(ref.state())
        // And what the daemon rebuilds from it is the same map.
        expect(CounterMap.fromState('y.1', fold.state()).digest()).toBe(ref.digest())
        // Also when the map adopts the fold as its own storage (what LevelStore hands over), a few entries a step.
        const adoption = CounterMap.adopt('x.1', fold.fold)
        while (!adoption.step(2)) {}
        const adopted = adoption.map
        expect(adopted.digest()).toBe(ref.digest())
        expect(adopted.state()).toEqual(ref.state())
        expect(adopted.seq).toBe(ref.seq)
        // Parked ranges came along too: the same deltas for any summary.
        const sorted = (m: CounterMap) => {
          const d = m.deltaSince({})
          return { ranges: d.ranges.sort(), entries: d.entries.sort() }
        }
        expect(sorted(adopted)).toEqual(sorted(ref))
        expect(() => fold.state()).toThrow(/already adopted/)
      }),
    )
  })

  it('refuses malformed deltas without applying any part of them', () => {
    const fold = new StateFold(null)
    const bad: unknown[] = [
      null,
      { ranges: [] },
      { ranges: [], entries: [['bad name!', 'r', 1, 0, 1]] },
      { ranges: [], entries: [['a', '', 1, 0, 1]] },
      { ranges: [], entries: [['a', 'r', 1.5, 0, 1]] },
      { ranges: [], entries: [['a', 'r', -1, 0, 1]] },
      { ranges: [['r', 3, 1]], entries: [] },
      {
        ranges: [['r', 0, 1]],
        entries: [
          ['a', 'r', 1, 0, 1],
          ['__proto__', 'r', 1, 0, 1],
        ],
      },
    ]
    for (const d of bad) expect(fold.apply(d)).toEqual(expect.any(String))
    expect(fold.state()).toEqual({ vv: {}, counters: {} })
    expect(() => new StateFold({ vv: {}, counters: { a: { r: 7 as never } } })).toThrow(TypeError)
  })
})

describe('StateFold.applyOne', () => {
  // Valid and invalid values for each field of a compact log row.
  const name = fc.constantFrom<unknown>('a', 'b', 'bad name!', '', 7, null)
  const id = fc.constantFrom<unknown>('r0.1', 'r1.1', '', 3)
  const count = fc.constantFrom<unknown>(0, 1, 5, 2 ** 53, -1, 1.5, '2')
  const seq = fc.constantFrom<unknown>(0, 1, 2, 9, 2 ** 53, -1, 1.5)
  const row = fc.tuple(name, id, count, count, seq)

  it('gives the same answer and state as apply() of the single-operation delta it stands for', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 25 }), (rows) => {
        const one = new StateFold(null)
        const ref = new StateFold(null)
        for (const [n, r, p, m, s] of rows) {
          const got = one.applyOne(n, r, p, m, s)
          const want = ref.apply({ ranges: [[r, (s as number) - 1, s]], entries: [[n, r, p, m, s]] })
          expect(got).toBe(want)
        }
        expect(one.state()).toEqual(ref.state())
      }),
    )
  })
})

describe('StateFold.applyOneBytes, drop and adoption', () => {
  const bytesOf = (name: string) => new TextEncoder().encode(`##${name}`)

  it('a name read in place folds like the same name as a string; a dropped counter starts afresh', () => {
    const a = new StateFold(null)
    const b = new StateFold(null)
    const steps: Array<[string, number, number] | ['drop', string]> = [
      ['x', 5, 1],
      ['y', 2, 2],
      ['drop', 'x'],
      ['x', 1, 3],
      ['drop', 'x'],
      ['drop', 'y'],
      ['y', 7, 4],
      ['x', 4, 5],
    ]
    for (const st of steps) {
      if (st[0] === 'drop') {
        a.drop(st[1] as string)
        b.drop(st[1] as string)
        continue
      }
      const [name, p, seq] = st as [string, number, number]
      const bytes = bytesOf(name)
      expect(a.applyOneBytes(bytes, 2, bytes.length - 2, 'r.1', p, 0, seq)).toBeNull()
      expect(b.applyOne(name, 'r.1', p, 0, seq)).toBeNull()
    }
    expect(a.state()).toEqual(b.state())
    expect(a.state().counters).toEqual({ y: { 'r.1': [7, 0, 4] }, x: { 'r.1': [4, 0, 5] } })
    const bad = bytesOf('z')
    expect(a.applyOneBytes(bad, 2, 1, '', 1, 0, 6)).toBe('invalid replica id in entry')
    expect(a.applyOneBytes(bad, 2, 1, 'r.1', 1.5, 0, 6)).toBe('entry p, n, seq must be safe counts')
    expect(a.applyOneBytes(bad, 2, 1, 'r.1', 1, 0, 0)).toBe('range must be [replica, from, to]')
    expect(a.state()).toEqual(b.state())
    // The adopted map holds the live counters only, as the state says.
    const want = CounterMap.fromState('m.1', a.state())
    const adoption = CounterMap.adopt('m.1', a.fold)
    while (!adoption.step(1)) {}
    expect(adoption.map.state()).toEqual(want.state())
    expect(adoption.map.digest()).toBe(want.digest())
  })
})
