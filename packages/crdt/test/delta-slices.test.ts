// deltaSince with a budget: bounded slices that resume from the receiver's
// own summary and add up to the whole answer.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterMap } from '../src/index.js'
import { historyArb, run } from './support/arbitraries.js'
import { canonMap, wire } from './support/canonical.js'

// Pulls from `from` into `to` in slices of at most `max` entries until a slice brings nothing.
function pullInSlices(from: CounterMap, to: CounterMap, max: number): number {
  let slices = 0
  for (;;) {
    const d = from.deltaSince(to.summary(), max)
    expect(d.entries.length).toBeLessThanOrEqual(max)
    if (d.entries.length === 0 && d.ranges.length === 0) return slices
    slices++
    if (!to.applyDelta(wire(d))) return slices
  }
}

describe('deltaSince(summary, maxEntries)', () => {
  it('slices no bigger than the budget add up to the whole answer', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(2), fc.nat(2), fc.integer({ min: 1, max: 6 }), (h, i, j, max) => {
        const maps = run(h)
        const a = maps[i] as CounterMap
        const b = maps[j] as CounterMap
        const whole = CounterMap.fromState('whole', b.state())
        whole.applyDelta(a.deltaSince(b.summary()))
        pullInSlices(a, b, max)
        expect(canonMap(b)).toBe(canonMap(whole))
        expect(b.digest()).toBe(whole.digest())
        expect(a.deltaSince(b.summary())).toEqual({ ranges: [], entries: [] })
      }),
    )
  })

  it('a large difference takes ceil(n / budget) slices, each claiming only what it carries', () => {
    const a = new CounterMap('a')
    const c = new CounterMap('c')
    for (let i = 0; i < 250; i++) a.increment(`k${i}`, 1 + (i % 3))
    for (let i = 0; i < 120; i++) c.increment(`c${i}`)
    a.applyDelta(c.deltaSince(a.summary()))
    const b = new CounterMap('b')
    const first = a.deltaSince(b.summary(), 100)
    expect(first.entries).toHaveLength(100)
    // The replica cut short is vouched for only up to its last entry sent; later replicas not at all.
    expect(first.ranges).toEqual([['a', 0, 100]])
    expect(pullInSlices(a, b, 100)).toBe(4) // 370 entries
    expect(b.digest()).toBe(a.digest())
  })

  it('a budget reached exactly at a replica boundary leaves the next replica whole for the next slice', () => {
    const a = new CounterMap('a')
    for (let i = 0; i < 5; i++) a.increment(`k${i}`)
    const c = new CounterMap('c')
    for (let i = 0; i < 3; i++) c.increment(`c${i}`)
    a.applyDelta(c.deltaSince(a.summary()))
    const b = new CounterMap('b')
    const first = a.deltaSince(b.summary(), 5)
    expect(first.entries).toHaveLength(5)
    expect(first.ranges).toEqual([['a', 0, 5]])
    b.applyDelta(first)
    expect(a.deltaSince(b.summary(), 5).ranges).toEqual([['c', 0, 3]])
  })

  it('refuses a budget below one', () => {
    const a = new CounterMap('a')
    expect(() => a.deltaSince({}, 0)).toThrow(RangeError)
    expect(() => a.deltaSince({}, Number.NaN)).toThrow(RangeError)
  })
})
