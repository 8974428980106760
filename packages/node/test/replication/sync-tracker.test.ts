import { describe, expect, it } from 'vitest'
import { SyncTracker } from '../../src/replication/sync-tracker.js'

describe('SyncTracker', () => {
  it('stamps each replica of a merged delta and each peer found in sync', () => {
    const t = new SyncTracker()
    t.merged(
      {
        ranges: [],
        entries: [
          ['a', 'r1.1', 1, 0, 1],
          ['b', 'r1.1', 2, 0, 2],
          ['a', 'r2.1', 0, 1, 1],
        ],
      },
      100,
    )
    expect(t.lastMerged('r1.1')).toBe(100)
    expect(t.lastMerged('r2.1')).toBe(100)
    expect(t.lastMerged('r3.1')).toBeUndefined()
    t.inSync('p1', 50)
    t.inSync('p1', 70)
    expect(t.lastInSync('p1')).toBe(70)
  })

  it('max lag: the stalest peer, counting from `since` when never in sync; 0 without peers', () => {
    const t = new SyncTracker()
    t.inSync('p1', 900)
    expect(t.maxLagSeconds([], 1000, 0)).toBe(0)
    expect(t.maxLagSeconds(['p1'], 1000, 0)).toBe(0.1)
    expect(t.maxLagSeconds(['p1', 'p2'], 1000, 500)).toBe(0.5)
  })
})
