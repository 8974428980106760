import { describe, expect, it } from 'vitest'
import { backoffCap, backoffDelay } from '../../src/membership/backoff.js'
import { classify, detectorFor, isLateTick, needsProbe } from '../../src/membership/failure-detector.js'
import { pickRandom } from '../../src/membership/peer-selection.js'

const cfg = { probeAfterMs: 600, suspectAfterMs: 2000, deadAfterMs: 6000, lateTickMs: 1000 }

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
    expect(detectorFor(20)).toEqual({
      probeAfterMs: 600,
      suspectAfterMs: 1500,
      deadAfterMs: 5000,
      lateTickMs: 1000,
    })
    expect(detectorFor(200)).toEqual({
      probeAfterMs: 600,
      suspectAfterMs: 1600,
      deadAfterMs: 5000,
      lateTickMs: 1000,
    })
    expect(detectorFor(1000)).toEqual({
      probeAfterMs: 3000,
      suspectAfterMs: 8000,
      deadAfterMs: 25_000,
      lateTickMs: 5000,
    })
  })

  it('a healthy peer gets several probes before it can be suspected; a dead one is suspected within 2 s and dead within 6 s at 200 ms rounds', () => {
    const d = detectorFor(200)
    expect(Math.floor((d.suspectAfterMs - d.probeAfterMs) / 200)).toBeGreaterThanOrEqual(4)
    // Thresholds plus one jittered round (220 ms) of tick granularity.
    expect(d.suspectAfterMs + 220).toBeLessThanOrEqual(2000)
    expect(d.deadAfterMs + 220).toBeLessThanOrEqual(6000)
  })
})

describe('needsProbe', () => {
  it.each([
    [0, 599, false],
    [0, 600, true],
    [0, 5000, true],
    [1000, 1000, false],
  ] as const)('lastContact %i now %i → %s', (last, now, want) => {
    expect(needsProbe(last, now, cfg)).toBe(want)
  })
})

describe('isLateTick', () => {
  it.each([
    [null, 5000, false],
    [0, 200, false],
    [0, 1000, false],
    [0, 1001, true],
    [0, 60_000, true],
  ] as const)('previous tick %s now %i → %s', (prev, now, want) => {
    expect(isLateTick(prev, now, cfg)).toBe(want)
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

describe('backoffCap', () => {
  it.each([
    [null, 1000, 10_000],
    [0, 599_999, 500],
    [0, 600_000, 10_000],
    [5000, 6000, 500],
  ] as const)('lastGood %s now %i → %i', (last, now, want) => {
    expect(backoffCap(last, now, 600_000, 500, 10_000)).toBe(want)
  })

  it('never exceeds the overall cap', () => {
    expect(backoffCap(0, 1, 600_000, 5000, 1000)).toBe(1000)
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
