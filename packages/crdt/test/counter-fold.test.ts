// CounterFold and CounterMap.adopt: a fold of entries, ranges and drops,
// adopted as a map's own storage, is the map that merging the same entries
// and ranges (and dropping the same counters) into an empty one gives; bad
// input is refused with TALLY_STATE_INVALID and changes nothing; a fold is
// adopted once.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterFold, CounterMap, type Delta, ErrorCodes, isTallyError } from '../src/index.js'

type Step =
  | { kind: 'put'; name: number; replica: number; p: number; n: number; seq: number; bytes: boolean }
  | { kind: 'range'; replica: number; from: number; len: number }
  | { kind: 'drop'; name: number }

const replicas = ['a.1', 'b.1', 'c.2']
const nameOf = (i: number) => `n-${i}${'y'.repeat(i * 7)}`

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      name: fc.nat(9),
      replica: fc.nat(2),
      p: fc.oneof(fc.nat(5), fc.constant(2 ** 40)),
      n: fc.nat(5),
      seq: fc.integer({ min: 1, max: 30 }),
      bytes: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('range' as const),
      replica: fc.nat(2),
      from: fc.nat(30),
      len: fc.nat(4),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), name: fc.nat(9) }) },
)

// A buffer holding `name` between other bytes, as a log record holds it.
function framed(name: string): { bytes: Uint8Array; at: number } {
  const bytes = new Uint8Array(name.length + 5).fill(0x20)
  for (let i = 0; i < name.length; i++) bytes[3 + i] = name.charCodeAt(i)
  return { bytes, at: 3 }
}

function adopt(replica: string, fold: CounterFold, step: number): CounterMap {
  const a = CounterMap.adopt(replica, fold)
  while (!a.step(step)) {}
  return a.map
}

/** Deltas in a canonical order, to compare two maps' answers as sets. */
function canon(d: Delta): Delta {
  return {
    ranges: [...d.ranges].sort((x, y) => x[0].localeCompare(y[0])),
    entries: [...d.entries].sort((x, y) => `${x[0]}/${x[1]}`.localeCompare(`${y[0]}/${y[1]}`)),
  }
}

function stateInvalid(f: () => unknown): void {
  let err: unknown
  try {
    f()
  } catch (e) {
    err = e
  }
  expect(isTallyError(err) && err.code === ErrorCodes.STATE_INVALID).toBe(true)
}

describe('CounterFold adopted by CounterMap.adopt', () => {
  it('is the map that merging the same entries and ranges into an empty one gives', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 80 }),
        fc.nat(2),
        fc.integer({ min: 1, max: 5 }),
        (steps, self, every) => {
          const fold = new CounterFold()
          const ref = new CounterMap(replicas[self] as string)
          // A replica's operation numbers are unique: a (replica, seq) already put is not put again.
          const used = new Set<string>()
          for (const s of steps) {
            if (s.kind === 'put') {
              if (used.has(`${s.replica}/${s.seq}`)) continue
              used.add(`${s.replica}/${s.seq}`)
              const name = nameOf(s.name)
              const id = replicas[s.replica] as string
              if (s.bytes) {
                const { bytes, at } = framed(name)
                fold.putBytes(bytes, at, name.length, id, s.p, s.n, s.seq)
              } else fold.put(name, id, s.p, s.n, s.seq)
              ref.applyDelta({ ranges: [], entries: [[name, id, s.p, s.n, s.seq]] })
            } else if (s.kind === 'range') {
              const id = replicas[s.replica] as string
              fold.advance(id, s.from, s.from + s.len)
              ref.applyDelta({ ranges: [[id, s.from, s.from + s.len]], entries: [] })
            } else {
              expect(fold.drop(nameOf(s.name))).toBe(ref.drop(nameOf(s.name)))
            }
          }
          expect(fold.size).toBe(ref.size)
          expect(fold.state()).toEqual(ref.state())
          const map = adopt(replicas[self] as string, fold, every)
          expect(map.digest()).toBe(ref.digest())
          expect(map.state()).toEqual(ref.state())
          expect(map.seq).toBe(ref.seq)
          // Every replica with an entry or a summary (a map that dropped a replica's every entry may still list it).
          const held = Object.values(ref.state().counters).flatMap((c) => Object.keys(c))
          expect(map.replicas()).toEqual([...new Set([...held, ...Object.keys(ref.summary())])].sort())
          // The change logs and parked ranges came along: the same answers for any summary.
          for (const summary of [{}, ref.summary(), { 'a.1': 3, 'b.1': 10 }])
            expect(canon(map.deltaSince(summary))).toEqual(canon(ref.deltaSince(summary)))
          // Parked ranges join as the gaps before them fill, in both alike.
          for (const id of replicas)
            for (let k = 0; k < 36; k += 3) {
              const fill: Delta = { ranges: [[id, k, k + 1]], entries: [] }
              map.applyDelta(fill)
              ref.applyDelta(fill)
              expect(map.summary()).toEqual(ref.summary())
            }
          // And it goes on as a map: a local write takes the next operation number.
          const before = map.seq
          map.increment('after', 2)
          ref.increment('after', 2)
          expect(map.seq).toBe(before + 1)
          expect(map.digest()).toBe(ref.digest())
        },
      ),
    )
  })

  it('steps at most the entries it is asked to, and a large fold is the same map', () => {
    const fold = new CounterFold()
    const ref = new CounterMap('a.1')
    for (let i = 0; i < 20_000; i++) {
      const name = `c${i % 7_000}`
      const id = replicas[i % 3] as string
      fold.put(name, id, i, 0, i + 1)
      ref.applyDelta({ ranges: [[id, 0, i + 1]], entries: [[name, id, i, 0, i + 1]] })
      fold.advance(id, 0, i + 1)
    }
    const a = CounterMap.adopt('a.1', fold)
    expect(() => a.map).toThrow(/step\(\) until it returns true/)
    let steps = 0
    while (!a.step(1000)) steps++
    // 19 999 entries (the first put is a zero): 19 steps of about 1 000 before the last.
    expect(steps).toBe(19)
    expect(a.step(1000)).toBe(true)
    expect(a.map.digest()).toBe(ref.digest())
    expect(a.map.state()).toEqual(ref.state())
    // Its change logs were built in counter order: sorted a piece at a time, without changing the state.
    expect(a.map.logsInOrder).toBe(false)
    let pieces = 0
    while (!a.map.prepareLogs(2000)) pieces++
    expect(a.map.logsInOrder).toBe(true)
    expect(pieces).toBeGreaterThanOrEqual(5)
    expect(a.map.prepareLogs(1)).toBe(true)
    expect(a.map.digest()).toBe(ref.digest())
    for (const id of replicas) expect(canon(a.map.deltaFor(id, 5000))).toEqual(canon(ref.deltaFor(id, 5000)))
  })

  it('refuses bad names, replica ids, counts and ranges with TALLY_STATE_INVALID, changing nothing', () => {
    const fold = new CounterFold()
    fold.put('ok', 'a.1', 1, 0, 1)
    fold.advance('a.1', 0, 1)
    const before = fold.state()
    const long = 'x'.repeat(129)
    stateInvalid(() => fold.put('bad name', 'a.1', 1, 0, 2))
    stateInvalid(() => fold.put('__proto__', 'a.1', 1, 0, 2))
    stateInvalid(() => fold.put(long, 'a.1', 1, 0, 2))
    stateInvalid(() => fold.put('new', '', 1, 0, 2))
    stateInvalid(() => fold.put('new', 'bad\u0000id', 1, 0, 2))
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '1' as unknown as number]) {
      stateInvalid(() => fold.put('ok', 'a.1', bad, 0, 2))
      stateInvalid(() => fold.put('ok', 'a.1', 1, bad, 2))
      stateInvalid(() => fold.put('ok', 'a.1', 1, 0, bad))
      stateInvalid(() => fold.advance('a.1', bad, 3))
    }
    stateInvalid(() => fold.advance('a.1', 3, 2))
    stateInvalid(() => fold.advance('', 0, 2))
    for (const name of ['__proto__', long, 'sp ace', 'caf\u00e9']) {
      const { bytes, at } = framed(name)
      stateInvalid(() => fold.putBytes(bytes, at, name.length, 'a.1', 1, 0, 2))
    }
    const { bytes } = framed('ok')
    stateInvalid(() => fold.putBytes(bytes, 3, 0, 'a.1', 1, 0, 2))
    stateInvalid(() => fold.putBytes(bytes, 3, 10, 'a.1', 1, 0, 2))
    stateInvalid(() => fold.putBytes(bytes, -1, 2, 'a.1', 1, 0, 2))
    // A zero entry is no entry (as a map skips it), whatever its name.
    fold.put('zero', 'a.1', 0, 0, 5)
    expect(fold.state()).toEqual(before)
    expect(fold.knowsReplica('')).toBe(false)
    expect(fold.has('new')).toBe(false)
  })

  it('is adopted once; a spent fold and an unfinished adoption say so', () => {
    const fold = new CounterFold()
    fold.put('x', 'a.1', 1, 0, 1)
    expect(() => CounterMap.adopt('', fold)).toThrow()
    const a = CounterMap.adopt('a.1', fold)
    expect(() => a.step(0)).toThrow(RangeError)
    expect(() => CounterMap.adopt('a.1', fold)).toThrow(/already adopted/)
    for (const use of [
      () => fold.put('y', 'a.1', 1, 0, 2),
      () => fold.advance('a.1', 0, 1),
      () => fold.drop('x'),
      () => fold.has('x'),
      () => fold.size,
      () => fold.summary(),
    ])
      expect(use).toThrow(/already adopted/)
    while (!a.step(1)) {}
    expect(a.map.value('x')).toBe(1)
    expect(a.map.seq).toBe(1)
  })
})
