// Over-admission, simulated: n LimitTables (nodes) on a network with a fixed
// delay d, hits arriving at rate r spread evenly over them within one window.
// The admitted total never passes the bound of docs/crdt.md,
// limit + ⌈r·d·(n−1)/n⌉, and the rate-aware headroom keeps it close to the
// limit when traffic is even. Pure and deterministic (1 ms steps).

import { describe, expect, it } from 'vitest'
import { LimitTable } from '../../src/limits/limit-table.js'
import type { BucketTuple } from '../../src/wire/limit-messages.js'

const W = 2_000
const T0 = 10 * W

/**
 * Runs one burst; returns how many hits were admitted. `route(k, t)`: the node hit k goes to
 * at step t, or -1 to drop it (default: round-robin).
 */
function simulate(o: {
  n: number
  limit: number
  hits: number
  spreadMs: number
  delayMs: number
  route?: (k: number, t: number) => number
}): number {
  const nodes = Array.from({ length: o.n }, (_, i) => new LimitTable(`r${i}`))
  const inFlight: Array<{ at: number; to: number; tuple: BucketTuple; sentAt: number }> = []
  let admitted = 0
  let sent = 0
  for (let t = 0; t <= o.spreadMs + 5 * o.delayMs; t++) {
    const now = T0 + t
    for (let k = inFlight.length - 1; k >= 0; k--) {
      const m = inFlight[k]!
      if (m.at > now) continue
      nodes[m.to]!.merge([m.tuple], now, now - m.sentAt)
      inFlight.splice(k, 1)
    }
    const due = Math.min(o.hits, Math.floor((o.hits * (t + 1)) / o.spreadMs))
    for (; sent < due; sent++) {
      const i = o.route ? o.route(sent, t) : sent % o.n
      if (i < 0) continue
      const { decision, tuple } = nodes[i]!.hit('x', o.limit, W, 1, now)
      if (!decision.allowed || !tuple) continue
      admitted++
      for (let j = 0; j < o.n; j++)
        if (j !== i) inFlight.push({ at: now + o.delayMs, to: j, tuple, sentAt: now })
    }
  }
  return admitted
}

describe('over-admission (simulated network)', () => {
  it.each([
    [3, 600, 0],
    [3, 600, 10],
    [3, 600, 50],
    [3, 600, 150],
    [5, 1_000, 40],
    [2, 300, 100],
  ])('n=%i, %i hits in 1 s, delay %i ms: between the limit and its bound', (n, hits, delayMs) => {
    const limit = 100
    const r = hits / 1_000
    const bound = limit + Math.ceil((r * delayMs * (n - 1)) / n)
    const admitted = simulate({ n, limit, hits, spreadMs: 1_000, delayMs })
    expect(admitted).toBeGreaterThanOrEqual(limit)
    expect(admitted).toBeLessThanOrEqual(bound)
  })

  it.each([50, 100, 150])(
    'with even traffic the rate-aware headroom keeps 3 nodes within 5 of the limit (delay %i ms)',
    (delayMs) => {
      const admitted = simulate({ n: 3, limit: 100, hits: 600, spreadMs: 1_000, delayMs })
      expect(admitted).toBeGreaterThanOrEqual(100)
      expect(admitted).toBeLessThanOrEqual(105)
    },
  )

  it('traffic at one node only is admitted up to the limit exactly (nothing reserved for idle peers)', () => {
    expect(simulate({ n: 3, limit: 100, hits: 600, spreadMs: 1_000, delayMs: 100, route: () => 0 })).toBe(100)
  })

  it('peers that stop sending stop being reserved for: the limit still fills', () => {
    // Everyone for 100 ms, then node 0 alone.
    const route = (k: number, t: number) => (t < 100 ? k % 3 : 0)
    expect(simulate({ n: 3, limit: 100, hits: 600, spreadMs: 1_000, delayMs: 100, route })).toBe(100)
  })
})
