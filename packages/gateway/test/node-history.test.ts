import { describe, expect, it } from 'vitest'
import { type LiveView, NodeHistory, stateOf } from '../src/node-history.js'

const view = (over: Partial<LiveView> = {}): LiveView => ({
  key: 'http://a',
  id: 'a',
  health: 'healthy',
  ejections: 0,
  lastError: undefined,
  ...over,
})

describe('stateOf', () => {
  it.each([
    [view(), false, 'healthy'],
    [view(), true, 'suspect'],
    [view({ health: 'unknown' }), false, 'suspect'],
    [view({ health: 'ejected', ejections: 1 }), false, 'ejected'],
    [view({ health: 'ejected', ejections: 2 }), true, 'ejected'],
    [view({ health: 'ejected', ejections: 3 }), false, 'down'],
  ] as const)('%j, poll failed %s → %s', (v, failed, want) => {
    expect(stateOf(v, failed)).toBe(want)
  })
})

describe('NodeHistory', () => {
  it('tracks state changes with since, keeps a node the registry dropped as down, forgets it after forgetAfterMs', () => {
    const h = new NodeHistory(10_000)
    h.update([view(), view({ key: 'http://b', id: 'b' })], 1000)
    h.seen('http://b', 1000, 42)
    expect(h.counts()).toEqual({ healthy: 2, suspect: 0, ejected: 0, down: 0 })
    h.update(
      [
        view(),
        view({
          key: 'http://b',
          id: 'b',
          health: 'ejected',
          ejections: 1,
          lastError: 'connect: ECONNREFUSED',
        }),
      ],
      2000,
    )
    expect(h.get('http://b')).toMatchObject({
      state: 'ejected',
      since: 2000,
      lastError: 'connect: ECONNREFUSED',
      lastValue: 42,
    })
    h.update([view()], 3000)
    expect(h.get('http://b')).toMatchObject({
      state: 'down',
      since: 3000,
      lastError: 'no longer listed by discovery; last error: connect: ECONNREFUSED',
      inRegistry: false,
    })
    h.update([view()], 12_000)
    expect(h.get('http://b')?.state).toBe('down')
    h.update([view()], 13_001)
    expect(h.get('http://b')).toBeUndefined()
    expect(h.list().map((r) => r.id)).toEqual(['a'])
  })

  it('a dropped node that never failed says why; a returning node is healthy again with a new since', () => {
    const h = new NodeHistory(60_000)
    h.update([view()], 0)
    h.update([], 500)
    expect(h.get('http://a')).toMatchObject({ state: 'down', lastError: 'no longer listed by discovery' })
    h.update([view()], 900)
    expect(h.get('http://a')).toMatchObject({ state: 'healthy', since: 900, lastError: undefined })
  })

  it('a failed poll makes a healthy node suspect, with the poll error as reason', () => {
    const h = new NodeHistory(60_000)
    h.update([view()], 0, new Map([['http://a', 'stats poll: timeout: timed out']]))
    expect(h.get('http://a')).toMatchObject({ state: 'suspect', lastError: 'stats poll: timeout: timed out' })
  })
})
