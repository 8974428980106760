import type { Delta } from '@tally/crdt'
import { describe, expect, it } from 'vitest'
import {
  FollowUps,
  MIN_SLICE_ENTRIES,
  mayBeCut,
  SliceMemo,
  sliceReach,
} from '../../src/replication/catch-up.js'

const slice = (n: number, ranges: Delta['ranges'] = [['a', 0, n]]): Delta => ({
  ranges,
  entries: Array.from({ length: n }, (_, i) => [`c${i}`, 'a', 1, 0, i + 1] as Delta['entries'][number]),
})

describe('mayBeCut', () => {
  it.each([
    ['a full slice with a range', slice(MIN_SLICE_ENTRIES), true],
    [
      'fewer entries than the smallest budget (an eager push, a small repair)',
      slice(MIN_SLICE_ENTRIES - 1),
      false,
    ],
    [
      'entries without a range (a part of an older node’s sequence: the summary would not move)',
      slice(MIN_SLICE_ENTRIES, []),
      false,
    ],
  ])('%s → %s', (_l, d, want) => {
    expect(mayBeCut(d)).toBe(want)
  })
})

describe('sliceReach', () => {
  it('is the highest seq per replica over entries and ranges', () => {
    const d: Delta = {
      ranges: [
        ['a', 0, 7],
        ['b', 3, 4],
      ],
      entries: [
        ['x', 'a', 1, 0, 9],
        ['y', 'c', 1, 0, 2],
      ],
    }
    expect(Object.fromEntries(sliceReach(d))).toEqual({ a: 9, b: 4, c: 2 })
  })
})

describe('FollowUps', () => {
  const full = slice(MIN_SLICE_ENTRIES)
  it('asks after a cut slice that changed something, once until answered', () => {
    const f = new FollowUps(2_000)
    expect(f.shouldAsk('p', full, true, 'd1', 0)).toBe(true)
    f.asked('p', 'd1', 0)
    // Another cut slice (a round's answer) while our ask is pending: no second chain.
    expect(f.shouldAsk('p', full, true, 'd2', 10)).toBe(false)
    f.answered('p')
    expect(f.shouldAsk('p', full, true, 'd2', 20)).toBe(true)
  })

  it('a pending ask stops holding back the next one after the timeout', () => {
    const f = new FollowUps(2_000)
    f.asked('p', 'd1', 0)
    expect(f.shouldAsk('p', full, true, 'd2', 1_999)).toBe(false)
    expect(f.shouldAsk('p', full, true, 'd2', 2_000)).toBe(true)
  })

  it('an answer that changed nothing continues only if our state moved since we asked', () => {
    const f = new FollowUps(2_000)
    f.asked('p', 'd1', 0)
    f.answered('p')
    expect(f.shouldAsk('p', full, false, 'd1', 5)).toBe(false) // asking again would bring the same slice
    expect(f.shouldAsk('p', full, false, 'd2', 5)).toBe(true) // another answer brought this one first
    expect(f.shouldAsk('q', full, false, 'd2', 5)).toBe(false) // never asked q: nothing moved
  })

  it('never asks after a delta that cannot be a cut slice', () => {
    const f = new FollowUps(2_000)
    expect(f.shouldAsk('p', slice(10), true, 'd1', 0)).toBe(false)
  })
})

describe('SliceMemo', () => {
  const sum = (o: Record<string, number>) => new Map(Object.entries(o))
  it('remembers the summary last answered with a slice, per peer, for the ttl, whatever its key order', () => {
    const m = new SliceMemo(1_000)
    m.note('p', sum({ a: 5, b: 7 }), 0)
    expect(m.sent('p', sum({ b: 7, a: 5 }), 999)).toBe(true)
    expect(m.sent('p', sum({ a: 5, b: 7 }), 1_000)).toBe(false)
    expect(m.sent('p', sum({ a: 6, b: 7 }), 10)).toBe(false) // the peer moved on: the next slice
    expect(m.sent('q', sum({ a: 5, b: 7 }), 10)).toBe(false)
  })
})
