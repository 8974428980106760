// The pure pieces of the rate-aware headroom: rates from successive counts,
// what is reserved, and when a quiet replica stops being reserved for.

import { describe, expect, it } from 'vitest'
import { MAX_LAG_MS, observe, QUIET_MS, unseen } from '../../src/limits/peer-rates.js'

describe('peer rates', () => {
  it('learns a rate from two counts and reserves rate × (time since arrival + transit)', () => {
    const a = observe(undefined, 1000, 10, 5_000, 20)
    expect(a).toEqual({ start: 1000, count: 10, at: 5_000, rate: 0, lag: 20 })
    expect(unseen(a, 1000, 5_010)).toBe(0) // no rate yet
    const b = observe(a, 1000, 30, 5_100, 20) // 20 hits in 100 ms
    expect(b.rate).toBeCloseTo(0.2)
    expect(unseen(b, 1000, 5_100)).toBe(4) // 0.2 × (0 + 20)
    expect(unseen(b, 1000, 5_130)).toBe(10) // 0.2 × (30 + 20)
  })

  it('reserves nothing for another window or a replica quiet longer than 2·transit + QUIET_MS', () => {
    const b = observe(observe(undefined, 1000, 10, 5_000, 20), 1000, 30, 5_100, 20)
    expect(unseen(b, 3000, 5_100)).toBe(0)
    expect(unseen(b, 1000, 5_100 + 2 * 20 + QUIET_MS)).toBeGreaterThan(0)
    expect(unseen(b, 1000, 5_100 + 2 * 20 + QUIET_MS + 1)).toBe(0)
  })

  it('averages rates and transit times; a new window starts afresh; transit is clamped', () => {
    let p = observe(undefined, 0, 0, 0, 10)
    p = observe(p, 0, 100, 100, 30) // 1/ms
    p = observe(p, 0, 100, 200, 10) // 0/ms → average 0.5
    expect(p.rate).toBeCloseTo(0.5)
    expect(p.lag).toBeCloseTo(15)
    expect(observe(p, 2000, 5, 300, 10)).toEqual({ start: 2000, count: 5, at: 300, rate: 0, lag: 10 })
    expect(observe(undefined, 0, 1, 0, -50).lag).toBe(0)
    expect(observe(undefined, 0, 1, 0, 10 ** 9).lag).toBe(MAX_LAG_MS)
  })
})
