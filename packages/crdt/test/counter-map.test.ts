import { describe, expect, it } from 'vitest'
import { CounterMap, ErrorCodes } from '../src/index.js'

describe('CounterMap', () => {
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
  })

  it('refuses a fractional amount and changes nothing', () => {
    const a = new CounterMap('a')
    a.increment('x')
    const before = a.digest()
    expect(() => a.increment('x', 1.5)).toThrow(expect.objectContaining({ code: ErrorCodes.AMOUNT_INVALID }))
    expect(a.digest()).toBe(before)
  })
})
