import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BoundedCounter,
  type BoundedCounterState,
  ErrorCodes,
  grantFor,
  richestReplica,
  rightsOf,
} from '../src/index.js'
import { historyWithReplicasArb, play } from './support/bounded-history.js'

const MAX = Number.MAX_SAFE_INTEGER

/** a created 10 and gave b 4; b spent 1; c created 2: rights a 6, b 3, c 2. */
function sample(): BoundedCounterState {
  const a = new BoundedCounter('a')
  a.increment(10)
  const b = BoundedCounter.fromState('b', a.transfer('b', 4))
  b.decrement(1)
  const c = new BoundedCounter('c')
  c.merge(b.state())
  c.increment(2)
  return c.state()
}

describe('rightsOf', () => {
  it('is p + received − given − n, and 0 for an unknown replica', () => {
    const s = sample()
    expect(['a', 'b', 'c', 'nobody'].map((r) => rightsOf(s, r))).toEqual([6, 3, 2, 0])
  })

  it('agrees with the counter on every state of any history', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, ({ n, steps }) => {
        const run = play(n, steps)
        for (const c of run.counters)
          for (const r of c.replicas()) expect(rightsOf(c.state(), r)).toBe(c.rights(r))
      }),
    )
  })
})

describe('richestReplica', () => {
  it('picks the most rights, skipping `except`; ties go to the smallest id', () => {
    const s = sample()
    expect(richestReplica(s)).toBe('a')
    expect(richestReplica(s, 'a')).toBe('b')
    const tie = BoundedCounter.fromState('x', { p: { z: 3, y: 3, x: 1 } }).state()
    expect(richestReplica(tie)).toBe('y')
    expect(richestReplica(tie, 'y')).toBe('z')
  })

  it('is undefined when no other replica holds rights', () => {
    expect(richestReplica(new BoundedCounter('a').state())).toBeUndefined()
    const onlyMe = BoundedCounter.fromState('a', { p: { a: 5, b: 2 }, n: { b: 2 } }).state()
    expect(richestReplica(onlyMe, 'a')).toBeUndefined()
    expect(richestReplica(onlyMe)).toBe('a')
  })
})

describe('grantFor (default policy: give what was asked while keeping at least 0)', () => {
  it.each([
    ['enough: all that was asked', 'a', 'c', 4, {}, 4],
    ['exactly all it holds', 'a', 'c', 6, {}, 6],
    ['not enough: all it holds', 'b', 'c', 10, {}, 3],
    ['nothing held', 'd', 'c', 1, {}, 0],
    ['asked by itself', 'a', 'a', 3, {}, 0],
    ['keeping a reserve: only what is beyond it', 'a', 'c', 10, { keep: 2 }, 4],
    ['reserve larger than the rights', 'b', 'c', 1, { keep: 5 }, 0],
    ['reserve 0 given explicitly', 'b', 'c', 2, { keep: 0 }, 2],
  ] as const)('%s', (_l, self, requester, wanted, policy, granted) => {
    expect(grantFor(sample(), self, requester, wanted, policy)).toBe(granted)
  })

  it('never grants more than asked or than the giver holds beyond its reserve; a grant can always be transferred', () => {
    fc.assert(
      fc.property(
        historyWithReplicasArb,
        fc.nat(),
        fc.integer({ min: 1, max: 50 }),
        fc.nat(10),
        ({ n, steps }, pick, wanted, keep) => {
          const run = play(n, steps)
          const self = run.counters[pick % n] as BoundedCounter
          const requester = `r${(pick + 1) % n}`
          const g = grantFor(self.state(), self.replica, requester, wanted, { keep })
          expect(g).toBeGreaterThanOrEqual(0)
          expect(g).toBeLessThanOrEqual(wanted)
          expect(g).toBe(Math.min(wanted, Math.max(0, self.localRights - keep)))
          if (g > 0) {
            self.transfer(requester, g)
            expect(self.localRights).toBeGreaterThanOrEqual(keep)
          }
        },
      ),
    )
  })

  it('refuses bad input with its code', () => {
    const s = sample()
    for (const wanted of [0, -1, 1.5, Number.NaN, MAX + 1, '1', null]) {
      expect(() => grantFor(s, 'a', 'b', wanted as number)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }),
      )
    }
    for (const id of ['', '__proto__', 'a\u0000', 7]) {
      const code = { code: ErrorCodes.REPLICA_INVALID }
      expect(() => grantFor(s, id as string, 'b', 1)).toThrow(expect.objectContaining(code))
      expect(() => grantFor(s, 'a', id as string, 1)).toThrow(expect.objectContaining(code))
      expect(() => rightsOf(s, id as string)).toThrow(expect.objectContaining(code))
      expect(() => richestReplica(s, id as string)).toThrow(expect.objectContaining(code))
    }
    for (const keep of [-1, 0.5, Number.NaN, '1']) {
      expect(() => grantFor(s, 'a', 'b', 1, { keep: keep as number })).toThrow(RangeError)
    }
    for (const state of [null, { p: { a: -1 } }, { n: { a: 1 } }, { p: {}, q: {} }]) {
      const code = { code: ErrorCodes.STATE_INVALID }
      const st = state as unknown as BoundedCounterState
      expect(() => grantFor(st, 'a', 'b', 1)).toThrow(expect.objectContaining(code))
      expect(() => rightsOf(st, 'a')).toThrow(expect.objectContaining(code))
      expect(() => richestReplica(st)).toThrow(expect.objectContaining(code))
    }
  })
})
