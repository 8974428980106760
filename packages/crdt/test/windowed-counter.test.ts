// The windowed counter of rate limits: merge laws, the sliding-window
// estimate (monotonic in hits, bounded by the two windows it reads),
// refusals that change nothing, and garbage collection that never changes an
// answer inside the window.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, isTallyError, readWindowedState, WindowedCounter, windowStartOf } from '../src/index.js'

const W = 1_000
const T0 = 1_000_000 // a window boundary
type Hit = { replica: 'a' | 'b' | 'c'; at: number; amount: number }
const hitArb: fc.Arbitrary<Hit> = fc.record({
  replica: fc.constantFrom('a' as const, 'b' as const, 'c' as const),
  at: fc.integer({ min: T0, max: T0 + 5 * W }),
  amount: fc.integer({ min: 1, max: 50 }),
})

/** One counter per replica, each holding its own hits (replicas never merged). */
function replicas(hits: readonly Hit[]): Map<string, WindowedCounter> {
  const m = new Map<string, WindowedCounter>()
  for (const r of ['a', 'b', 'c']) m.set(r, new WindowedCounter(r, W))
  for (const h of hits) m.get(h.replica)?.hit(h.at, h.amount)
  return m
}

function mergedOf(hits: readonly Hit[], into = 'x'): WindowedCounter {
  const c = new WindowedCounter(into, W)
  for (const r of replicas(hits).values()) c.merge(r.state())
  return c
}

describe('WindowedCounter', () => {
  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(fc.array(hitArb), fc.array(hitArb), fc.array(hitArb), (h1, h2, h3) => {
        const [a, b, c] = [mergedOf(h1).state(), mergedOf(h2).state(), mergedOf(h3).state()]
        const ab = WindowedCounter.fromState('x', a)
        ab.merge(b)
        const ba = WindowedCounter.fromState('x', b)
        ba.merge(a)
        expect(ab.state()).toEqual(ba.state())
        const abc1 = WindowedCounter.fromState('x', ab.state())
        abc1.merge(c)
        const bc = WindowedCounter.fromState('x', b)
        bc.merge(c)
        const abc2 = WindowedCounter.fromState('x', a)
        abc2.merge(bc.state())
        expect(abc1.state()).toEqual(abc2.state())
        const aa = WindowedCounter.fromState('x', a)
        expect(aa.merge(a)).toBe(false)
        expect(aa.state()).toEqual(WindowedCounter.fromState('x', a).state())
      }),
    )
  })

  it('replicas that exchange deltas in any order, with duplicates, agree', () => {
    fc.assert(
      fc.property(fc.array(hitArb, { maxLength: 40 }), fc.integer(), (hits, seed) => {
        const reps = replicas([])
        const deltas: unknown[] = []
        for (const h of hits) {
          const r = reps.get(h.replica) as WindowedCounter
          r.hit(h.at, h.amount)
          deltas.push(r.deltaFor(r.windowStart(h.at)))
        }
        // deliver every delta to every replica in a shuffled order, each twice
        const order = [...deltas, ...deltas]
        let s = seed >>> 0
        for (let i = order.length - 1; i > 0; i--) {
          s = (s * 1103515245 + 12345) >>> 0
          const j = s % (i + 1)
          ;[order[i], order[j]] = [order[j], order[i]]
        }
        for (const r of reps.values()) for (const d of order) r.merge(d)
        const states = [...reps.values()].map((r) => JSON.stringify(r.state().buckets))
        expect(new Set(states).size).toBe(1)
        expect(reps.get('a')?.state()).toEqual(mergedOf(hits, 'a').state())
      }),
    )
  })

  it('the estimate is the current bucket plus the previous one weighted by the overlap, rounded up', () => {
    const c = new WindowedCounter('a', W)
    c.hit(T0 + 10, 40) // previous window
    c.hit(T0 + W + 5, 7) // current window
    expect(c.estimate(T0 + W)).toBe(7 + 40) // no time elapsed: the whole previous window overlaps
    expect(c.estimate(T0 + W + 250)).toBe(7 + 30) // 3/4 of it overlaps
    expect(c.estimate(T0 + W + 999)).toBe(7 + 1) // ⌈40/1000⌉
    expect(c.estimate(T0 + 2 * W)).toBe(7) // the current becomes the previous, fully weighted
    expect(c.estimate(T0 + 3 * W)).toBe(0)
    expect(windowStartOf(T0 + 1_999, W)).toBe(T0 + W)
  })

  it('the estimate is monotonic in hits and lies between the current bucket and both windows', () => {
    fc.assert(
      fc.property(fc.array(hitArb), hitArb, fc.integer({ min: T0, max: T0 + 6 * W }), (hits, extra, now) => {
        const before = mergedOf(hits)
        const after = mergedOf([...hits, extra])
        expect(after.estimate(now)).toBeGreaterThanOrEqual(before.estimate(now))
        const start = windowStartOf(now, W)
        const inTwo = hits
          .filter((h) => h.at >= start - W && h.at < start + W)
          .reduce((s, h) => s + h.amount, 0)
        const inCur = hits.filter((h) => h.at >= start && h.at < start + W).reduce((s, h) => s + h.amount, 0)
        const e = before.estimate(now)
        expect(e).toBeGreaterThanOrEqual(inCur)
        expect(e).toBeLessThanOrEqual(inTwo)
      }),
    )
  })

  it('tryHit counts an allowed hit and leaves the counter unchanged on a refusal', () => {
    const c = new WindowedCounter('a', W)
    for (let i = 0; i < 5; i++) expect(c.tryHit(T0 + i, 5).allowed).toBe(true)
    const before = c.state()
    const refused = c.tryHit(T0 + 10, 5)
    expect(refused).toEqual({ allowed: false, used: 5, remaining: 0, resetMs: W - 10 })
    expect(c.state()).toEqual(before)
    expect(c.tryHit(T0 + 10, 10, 6)).toMatchObject({ allowed: false, used: 5, remaining: 5 })
    expect(c.tryHit(T0 + 10, 10, 5)).toEqual({ allowed: true, used: 10, remaining: 0, resetMs: W - 10 })
    expect(c.tryHit(T0 + 10, 3, 4).allowed).toBe(false) // amount above the limit itself
  })

  it('no sequence of tryHit on one replica admits more than the limit in any window pair estimate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), amount: fc.integer({ min: 1, max: 5 }) })),
        fc.integer({ min: 1, max: 30 }),
        (steps, limit) => {
          const c = new WindowedCounter('a', W)
          let now = T0
          for (const s of steps) {
            now += s.dt
            const d = c.tryHit(now, limit, s.amount)
            expect(c.estimate(now)).toBeLessThanOrEqual(limit)
            expect(d.used).toBe(c.estimate(now))
            // a fixed window never holds more than the limit either
            expect(c.bucketTotal(c.windowStart(now))).toBeLessThanOrEqual(limit)
          }
        },
      ),
    )
  })

  it('gc drops buckets older than the previous window (minus the skew margin) and no answer inside changes', () => {
    fc.assert(
      fc.property(
        fc.array(hitArb),
        fc.integer({ min: T0, max: T0 + 6 * W }),
        fc.integer({ min: 0, max: 2 * W }),
        fc.integer({ min: 0, max: 4 * W }),
        (hits, now, skew, later) => {
          const c = mergedOf(hits)
          const kept = mergedOf(hits)
          kept.gc(now, skew)
          for (const s of kept.bucketStarts()) expect(s).toBeGreaterThanOrEqual(c.horizon(now, skew))
          const from = Math.max(0, now - skew)
          for (const t of [from, from + 1, now, now + later, windowStartOf(now, W) + W - 1])
            expect(kept.estimate(t)).toBe(c.estimate(t))
        },
      ),
    )
  })

  it('gc bounds memory: a counter hit over many windows holds at most three buckets', () => {
    const c = new WindowedCounter('a', 10)
    for (let t = 0; t < 100_000; t += 3) {
      c.tryHit(t, 1_000)
      c.gc(t, 10)
      expect(c.size).toBeLessThanOrEqual(3)
    }
  })

  it('refuses malformed states with TALLY_STATE_INVALID and stays unchanged', () => {
    const c = new WindowedCounter('a', W)
    c.hit(T0, 3)
    const before = c.state()
    const bad: unknown[] = [
      null,
      [],
      { windowMs: W },
      { windowMs: 0, buckets: [] },
      { windowMs: 1.5, buckets: [] },
      { windowMs: W, buckets: [], extra: 1 },
      { windowMs: W, buckets: [[T0 + 1, [['b', 1]]]] },
      { windowMs: W, buckets: [[-W, [['b', 1]]]] },
      { windowMs: W, buckets: [[T0, [['b', -1]]]] },
      { windowMs: W, buckets: [[T0, [['b', 0.5]]]] },
      { windowMs: W, buckets: [[T0, [['', 1]]]] },
      {
        windowMs: W,
        buckets: [
          [
            T0,
            [
              ['b', 1],
              ['b', 2],
            ],
          ],
        ],
      },
      {
        windowMs: W,
        buckets: [
          [T0, []],
          [T0, []],
        ],
      },
      { windowMs: W, buckets: [[T0, [['b', 2 ** 53]]]] },
      { windowMs: 2 * W, buckets: [] }, // another window length
      {
        windowMs: W,
        get buckets() {
          throw new Error('getter')
        },
      },
    ]
    for (const x of bad) {
      let err: unknown
      try {
        c.merge(x)
      } catch (e) {
        err = e
      }
      expect(isTallyError(err, ErrorCodes.STATE_INVALID), String(bad.indexOf(x))).toBe(true)
      expect(c.state()).toEqual(before)
    }
    expect(readWindowedState({ windowMs: W, buckets: [[T0, [['b', 2]]]] })).toEqual({
      windowMs: W,
      buckets: [[T0, [['b', 2]]]],
    })
  })

  it('refuses bad amounts, limits, times and window lengths', () => {
    const c = new WindowedCounter('a', W)
    for (const amount of [0, -1, 0.5, Number.NaN, 2 ** 53])
      expect(() => c.hit(T0, amount)).toThrow(expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }))
    for (const limit of [0, -1, 1.5, Number.POSITIVE_INFINITY])
      expect(() => c.tryHit(T0, limit)).toThrow(RangeError)
    for (const now of [-1, 0.5, Number.NaN]) expect(() => c.estimate(now)).toThrow(RangeError)
    for (const w of [0, -5, 2.5]) expect(() => new WindowedCounter('a', w)).toThrow(RangeError)
    expect(() => new WindowedCounter('', W)).toThrow(
      expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }),
    )
    c.hit(T0, Number.MAX_SAFE_INTEGER)
    expect(() => c.hit(T0, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(c.estimate(T0)).toBe(Number.MAX_SAFE_INTEGER)
    expect(c.estimate(T0 + W + 1)).toBe(Number.MAX_SAFE_INTEGER - Math.floor(Number.MAX_SAFE_INTEGER / W))
  })
})
