import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/membership/backoff.js'
import { classify, detectorFor } from '../../src/membership/failure-detector.js'
import { pickRandom } from '../../src/membership/peer-selection.js'

const cfg = { suspectAfterMs: 2000, deadAfterMs: 6000 }

describe('classify', () => {
  it.each([
    [1000, 1000, false, 'live'],
    [0, 1999, false, 'live'],
    [0, 2000, false, 'suspect'],
    [0, 5999, false, 'suspect'],
    [0, 6000, false, 'dead'],
    [0, 100_000, false, 'dead'],
    [1000, 1000, true, 'dead'],
  ] as const)('lastContact %i now %i left %s → %s', (last, now, left, want) => {
    expect(classify(last, now, left, cfg)).toBe(want)
  })

  it('scales with the gossip interval, with floors', () => {
    expect(detectorFor(200)).toEqual({ suspectAfterMs: 2000, deadAfterMs: 6000 })
    expect(detectorFor(1000)).toEqual({ suspectAfterMs: 10_000, deadAfterMs: 30_000 })
  })
})

describe('backoffDelay', () => {
  it.each([
    [1, 0, 50],
    [1, 0.999999, 100],
    [2, 0, 100],
    [4, 0, 400],
    [10, 0, 5000],
    [50, 1 - 1e-9, 10_000],
  ])('failures %i rand %f → %i', (failures, r, want) => {
    expect(backoffDelay(failures, 100, 10_000, () => r)).toBe(want)
  })
})

describe('pickRandom', () => {
  it('returns k distinct items of the input (or all of them)', () => {
    const items = [1, 2, 3, 4, 5, 6]
    let seed = 1
    const rand = () => {
      seed = (seed * 16807) % 2147483647
      return seed / 2147483647
    }
    for (let k = 0; k <= 8; k++) {
      const got = pickRandom(items, k, rand)
      expect(got.length).toBe(Math.min(k, 6))
      expect(new Set(got).size).toBe(got.length)
      for (const g of got) expect(items).toContain(g)
    }
    expect(items).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('is roughly uniform', () => {
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 4000; i++) for (const x of pickRandom([0, 1, 2, 3], 1, Math.random)) counts[x]!++
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })
})
