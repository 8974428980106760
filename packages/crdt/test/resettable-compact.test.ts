// Garbage collection of a deleted counter (compactResettable) and the
// own-writes reset that applies an expiry (resetOwn).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compactResettable,
  ErrorCodes,
  ResettableCounter,
  type ResettableCounterState,
} from '../src/index.js'
import { canonRecord } from './support/canonical.js'

const ids = fc.constantFrom('a', 'b', 'c', 'constructor')
const covered = fc
  .tuple(fc.nat({ max: 2 ** 40 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean())
  .map(([t, f, full]) => [t, full ? t : Math.floor(t * f)] as const)
const pair = fc.dictionary(ids, covered, { maxKeys: 4 })
const stateArb: fc.Arbitrary<ResettableCounterState> = fc.record({ p: pair, n: pair }).map(({ p, n }) => {
  const pick = (t: typeof p, k: 0 | 1) => Object.fromEntries(Object.entries(t).map(([r, v]) => [r, v[k]]))
  return { p: pick(p, 0), n: pick(n, 0), mark: { p: pick(p, 1), n: pick(n, 1) } }
})
const canon = (s: ResettableCounterState) => [s.p, s.n, s.mark.p, s.mark.n].map(canonRecord).join('|')
const from = (s: ResettableCounterState) => ResettableCounter.fromState('obs', s)

describe('compactResettable', () => {
  it('never changes the value; without the acknowledgement it changes nothing', () => {
    fc.assert(
      fc.property(stateArb, fc.boolean(), (s, acked) => {
        const before = from(s)
        const after = compactResettable(s, acked)
        expect(from(after).value).toBe(before.value)
        if (!acked) expect(canon(after)).toBe(canon(before.state()))
        // Only an empty counter is dropped, and only with the acknowledgement.
        expect(canon(after) === canon(from({ p: {}, n: {}, mark: { p: {}, n: {} } }).state())).toBe(
          (acked && before.isEmpty) ||
            canon(before.state()) === canon({ p: {}, n: {}, mark: { p: {}, n: {} } }),
        )
      }),
    )
  })

  it('after compaction, any acknowledged state merges to the value it would have had', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (s, t) => {
        const deleted = from(s)
        deleted.reset()
        // A peer that acknowledged the delete holds a state at or above its mark.
        const peer = from(t)
        peer.merge(deleted.state())
        peer.increment(3) // and may have written since
        const compacted = from(compactResettable(deleted.state(), true))
        compacted.merge(peer.state())
        deleted.merge(peer.state())
        expect(compacted.value).toBe(deleted.value)
      }),
    )
  })

  it('shows why the acknowledgement is required: an old state brings old counts back', () => {
    const a = new ResettableCounter('a')
    const stale = a.increment(5) // still in flight somewhere, without the mark
    a.reset()
    const compacted = ResettableCounter.fromState('a2', compactResettable(a.state(), true))
    expect(compacted.value).toBe(0)
    compacted.applyDelta(stale)
    expect(compacted.value).toBe(5) // resurrected: the promise did not hold
  })

  it('refuses a malformed state', () => {
    expect(() => compactResettable({ p: { a: 1 }, mark: { p: { a: 2 } } }, true)).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(() => compactResettable(null, false)).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
  })
})

describe('ResettableCounter.resetOwn', () => {
  it("removes only this replica's own writes, idempotently", () => {
    const a = new ResettableCounter('a')
    const b = new ResettableCounter('b')
    a.applyDelta(b.increment(3))
    a.increment(5)
    a.decrement(1)
    const d = a.resetOwn()
    expect(d).toEqual({ p: { a: 5 }, n: { a: 1 }, mark: { p: { a: 5 }, n: { a: 1 } } })
    expect(a.value).toBe(3) // b's increment stays
    expect(a.resetOwn()).toEqual(d)
    expect(a.value).toBe(3)
    b.applyDelta(d)
    expect(b.value).toBe(3)
    expect(b.digest()).toBe(a.digest())
    expect(new ResettableCounter('z').resetOwn()).toEqual({ p: {}, n: {}, mark: { p: {}, n: {} } })
  })

  it('its delta applied anywhere equals merging the state', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (s, t) => {
        const a = ResettableCounter.fromState('a', s)
        const viaDelta = ResettableCounter.fromState('x', t)
        const viaState = ResettableCounter.fromState('y', t)
        viaDelta.applyDelta(a.resetOwn())
        viaState.merge(a.state())
        viaDelta.merge(s)
        expect(viaDelta.digest()).toBe(viaState.digest())
      }),
    )
  })
})
