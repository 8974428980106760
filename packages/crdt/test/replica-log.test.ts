import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ReplicaLog } from '../src/replica-log.js'

// A tiny model: the current seq of each name; a log record is current iff it matches.
function setup() {
  // The log keys entries by number: names are numbered in order of first use.
  const current = new Map<number, number>()
  const ids = new Map<string, number>()
  const names: string[] = []
  const idOf = (name: string) => {
    let id = ids.get(name)
    if (id === undefined) {
      id = names.push(name) - 1
      ids.set(name, id)
    }
    return id
  }
  const log = new ReplicaLog((key, seq) => current.get(key) === seq)
  const put = (name: string, seq: number) => {
    const key = idOf(name)
    const replaced = current.has(key)
    current.set(key, seq)
    log.add(key, seq, replaced)
  }
  const after = (k: number) => {
    const out: string[] = []
    log.forEachAfter(k, (key) => out.push(names[key] as string))
    return out
  }
  return { log, put, after }
}

describe('ReplicaLog', () => {
  it.each([
    [
      'in order',
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
      1,
      ['b', 'c'],
    ],
    [
      'out of order',
      [
        ['c', 3],
        ['a', 1],
        ['b', 2],
      ],
      0,
      ['a', 'b', 'c'],
    ],
    [
      'stale records skipped',
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ],
      0,
      ['b', 'a'],
    ],
    [
      'boundary is exclusive',
      [
        ['a', 1],
        ['b', 2],
      ],
      2,
      [],
    ],
    ['after beyond max', [['a', 1]], 99, []],
    ['empty', [], 0, []],
  ] as Array<[string, Array<[string, number]>, number, string[]]>)('%s', (_l, puts, k, expected) => {
    const { put, after } = setup()
    for (const [n, s] of puts) put(n, s)
    expect(after(k)).toEqual(expected)
  })

  it('forEachAfter stops at the first visit that returns false (a bounded slice)', () => {
    const { log, put } = setup()
    for (let i = 1; i <= 10; i++) put(`n${i}`, i)
    const seen: number[] = []
    log.forEachAfter(2, (key) => {
      seen.push(key)
      return seen.length < 3
    })
    expect(seen).toEqual([2, 3, 4])
  })

  it('tracks maxSeq in O(1), whatever the arrival order', () => {
    const { log, put } = setup()
    expect(log.maxSeq).toBe(0)
    put('a', 5)
    put('b', 2)
    expect(log.maxSeq).toBe(5)
  })

  it('compacts stale records so memory follows live names, not updates', () => {
    const { log, put, after } = setup()
    for (let s = 1; s <= 10_000; s++) put(`n${s % 10}`, s)
    expect(log.length).toBeLessThan(2100)
    expect(after(0).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`).sort())
    expect(after(9_995)).toEqual(['n6', 'n7', 'n8', 'n9', 'n0'])
  })

  it('bulk out-of-order load (a full state in key order) stays fast', () => {
    const { put, after } = setup()
    const n = 100_000
    const t0 = performance.now()
    // Seqs in a scrambled order, as when a state is merged in name order.
    for (let i = 0; i < n; i++) put(`k${i}`, ((i * 7919) % n) + 1)
    expect(after(n - 3)).toHaveLength(3)
    // Sorted inserts were O(n²) here (seconds); the lazy sort takes milliseconds. Generous bound for a busy machine.
    expect(performance.now() - t0).toBeLessThan(5_000)
  })

  it('sorts a bulk out-of-order load by seq across the whole safe-integer range (stable for equal seqs)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(fc.nat(70_000), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 1 })), {
          // More than the 64 records that are sorted in place on arrival: the bulk sort runs.
          minLength: 150,
          maxLength: 400,
        }),
        (seqs) => {
          const { put, after } = setup()
          for (const [i, s] of seqs.entries()) put(`k${i}`, s + 1)
          const want = seqs
            .map((s, i) => [s + 1, `k${i}`] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, n]) => n)
          expect(after(0)).toEqual(want)
        },
      ),
    )
  })

  it('keeps seqs as uint32 until one passes 2^32−1, then holds every seq exactly as float64', () => {
    const { log, put, after } = setup()
    put('a', 5)
    put('b', 0xffffffff)
    expect(log.wide).toBe(false)
    put('c', 2 ** 32 + 1)
    expect(log.wide).toBe(true)
    put('d', 2 ** 32) // out of order, near the end: inserted in place
    put('e', 2 ** 52 + 3)
    expect(after(0)).toEqual(['a', 'b', 'd', 'c', 'e'])
    expect(after(2 ** 32)).toEqual(['c', 'e'])
    expect(log.maxSeq).toBe(2 ** 52 + 3)
  })

  it('a bulk out-of-order load with seqs past 2^32−1 arriving after narrow ones sorts exactly', () => {
    const { put, after } = setup()
    const seqs: number[] = []
    for (let i = 0; i < 500; i++) seqs.push(i * 7 + 1, 2 ** 32 + i * 3, 2 ** 45 + i)
    // Narrow first, far out of order (a full state merged in key order), then the wide ones.
    seqs.sort((x, y) => (x < 2 ** 32 ? 0 : 1) - (y < 2 ** 32 ? 0 : 1) || (x % 13) - (y % 13) || x - y)
    for (const [i, s] of seqs.entries()) put(`k${i}-${s}`, s)
    const want = [...seqs].sort((x, y) => x - y).map((s) => `k${seqs.indexOf(s)}-${s}`)
    expect(after(0)).toEqual(want)
  })

  it('grows its arrays by half, so at most a third of the room is unused', () => {
    const { log, put } = setup()
    let worst = 0
    for (let i = 1; i <= 50_000; i++) {
      put(`n${i}`, i)
      if (i > 4) worst = Math.max(worst, log.capacity / log.length)
    }
    expect(worst).toBeLessThanOrEqual(1.5)
  })

  it('matches a model under any mix of in-order, near and far out-of-order updates and reads', () => {
    const step = fc.oneof(
      fc.record({
        name: fc.integer({ min: 0, max: 80 }).map((i) => `n${i}`),
        jump: fc.oneof(fc.integer({ min: -20, max: 3 }), fc.integer({ min: -500, max: 3 })),
      }),
      fc.record({ read: fc.nat(1200) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const { put, after } = setup()
        const model = new Map<string, number>()
        let top = 600
        const used = new Set<number>()
        for (const s of steps) {
          if ('read' in s) {
            const got = after(s.read)
            const want = [...model]
              .filter(([, q]) => q > s.read)
              .sort((x, y) => x[1] - y[1])
              .map(([n]) => n)
            expect(got).toEqual(want)
            continue
          }
          // Seqs are unique per replica; some land far below the current top (bulk, reordered).
          const seq = top + s.jump
          if (seq < 1 || used.has(seq)) continue
          used.add(seq)
          top = Math.max(top, seq)
          // An entry's seq only grows: an older seq for a known name is a stale arrival, ignored.
          if ((model.get(s.name) ?? 0) >= seq) continue
          model.set(s.name, seq)
          put(s.name, seq)
        }
      }),
    )
  })

  it('sorts in steps to the same order a read sorts to at once, starting over when a record is added between steps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(6),
        (raw, work, addAt) => {
          const seqs = [...new Set(raw)]
          const a = setup()
          const b = setup()
          seqs.forEach((q, i) => {
            a.put(`k${i}`, q)
            b.put(`k${i}`, q)
          })
          // One record more, added after a few steps of `a`'s sort.
          let steps = 0
          let extra = false
          while (!a.log.sortStep(work)) {
            steps++
            if (steps === addAt && !extra) {
              a.put('late', 2 ** 41)
              b.put('late', 2 ** 41)
              extra = true
            }
          }
          expect(a.log.sorted).toBe(true)
          expect(a.after(0)).toEqual(b.after(0))
          expect(a.after(seqs[0] as number)).toEqual(b.after(seqs[0] as number))
        },
      ),
    )
  })

  it('does about the work asked of it a step: 200 000 records out of order take many steps', () => {
    const { log, put, after } = setup()
    const n = 200_000
    for (let i = 0; i < n; i++) put(`c${i}`, ((i * 7919) % n) + 1)
    expect(log.sorted).toBe(false)
    let steps = 0
    while (!log.sortStep(10_000)) steps++
    // Two 16-bit digits, each counted and moved: about 4 × 200 000 records of work.
    expect(steps).toBeGreaterThanOrEqual(70)
    expect(log.sorted).toBe(true)
    const got = after(n - 3)
    expect(got).toHaveLength(3)
  })

  it('finishes a sort in steps while records keep coming between steps, and keeps every one of them', () => {
    const a = setup()
    const b = setup()
    const n = 50_000
    // Out of order: a bulk load in key order.
    for (let i = 0; i < n; i++) {
      a.put(`c${i}`, ((i * 7919) % n) + 1)
      b.put(`c${i}`, ((i * 7919) % n) + 1)
    }
    // One new record (a new seq, past every other) between any two steps, as a busy replica writes.
    let next = n + 1
    let steps = 0
    while (!a.log.sortStep(2_000)) {
      a.put(`new${next}`, next)
      b.put(`new${next}`, next)
      next++
      steps++
      expect(steps).toBeLessThan(1_000)
    }
    expect(a.log.sorted).toBe(true)
    expect(next - n - 1).toBeGreaterThan(20)
    expect(a.after(0)).toEqual(b.after(0))
    expect(a.after(n - 2)).toHaveLength(2 + next - n - 1)
  })
})
