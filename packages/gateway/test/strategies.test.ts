import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Candidate,
  INITIAL_STRATEGY_STATE,
  leastLoaded,
  loadScore,
  random,
  rendezvous,
  roundRobin,
  STRATEGY_NAMES,
  strategyFor,
} from '../src/strategies.js'

const node = (key: string, inflight = 0, load?: { inflight: number; eventLoopDelayMs: number }): Candidate =>
  load ? { key, inflight, load } : { key, inflight }

const seq = (values: number[]) => {
  let i = 0
  return () => values[i++ % values.length] as number
}

describe('round-robin', () => {
  it('cycles through a stable list', () => {
    const nodes = [node('a'), node('b'), node('c')]
    let state = INITIAL_STRATEGY_STATE
    const picks: string[] = []
    for (let i = 0; i < 7; i++) {
      const p = roundRobin(nodes, state, Math.random)
      picks.push(p.node!.key)
      state = p.state
    }
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'])
  })

  it('returns undefined for no candidates and keeps the state', () => {
    const p = roundRobin([], { cursor: 5 }, Math.random)
    expect(p.node).toBeUndefined()
    expect(p.state).toEqual({ cursor: 5 })
  })

  it('gives every node the same share over n·k picks (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(1000),
        (n, k, start) => {
          const nodes = Array.from({ length: n }, (_, i) => node(`n${i}`))
          let state = { cursor: start }
          const counts = new Map<string, number>()
          for (let i = 0; i < n * k; i++) {
            const p = roundRobin(nodes, state, Math.random)
            counts.set(p.node!.key, (counts.get(p.node!.key) ?? 0) + 1)
            state = p.state
          }
          return [...counts.values()].every((c) => c === k) && counts.size === n
        },
      ),
    )
  })
})

describe('random', () => {
  it('maps rng to an index uniformly and clamps rng ≈ 1', () => {
    const nodes = [node('a'), node('b'), node('c'), node('d')]
    expect(random(nodes, INITIAL_STRATEGY_STATE, () => 0).node!.key).toBe('a')
    expect(random(nodes, INITIAL_STRATEGY_STATE, () => 0.26).node!.key).toBe('b')
    expect(random(nodes, INITIAL_STRATEGY_STATE, () => 0.9999999).node!.key).toBe('d')
    expect(random(nodes, INITIAL_STRATEGY_STATE, () => 1).node!.key).toBe('d')
    expect(random([], INITIAL_STRATEGY_STATE, () => 0.5).node).toBeUndefined()
  })

  it('always picks one of the candidates (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, r) => {
        const nodes = Array.from({ length: n }, (_, i) => node(`n${i}`))
        return nodes.includes(random(nodes, INITIAL_STRATEGY_STATE, () => r).node!)
      }),
    )
  })
})

describe('least-loaded', () => {
  it.each([
    ['own in-flight', [node('a', 3), node('b', 1), node('c', 2)], 'b'],
    [
      'reported in-flight',
      [
        node('a', 0, { inflight: 9, eventLoopDelayMs: 0 }),
        node('b', 0, { inflight: 2, eventLoopDelayMs: 0 }),
      ],
      'b',
    ],
    [
      'event-loop delay',
      [
        node('a', 1, { inflight: 0, eventLoopDelayMs: 100 }),
        node('b', 5, { inflight: 0, eventLoopDelayMs: 0 }),
      ],
      'b',
    ],
    [
      'delay outweighs a few requests',
      [node('a', 1, { inflight: 0, eventLoopDelayMs: 100 }), node('b', 12)],
      'a',
    ],
    ['no report counts as zero', [node('a', 1, { inflight: 1, eventLoopDelayMs: 0 }), node('b', 1)], 'b'],
  ])('prefers the lowest score (%s)', (_t, nodes, want) => {
    expect(leastLoaded(nodes, INITIAL_STRATEGY_STATE, () => 0).node!.key).toBe(want)
  })

  it('breaks ties with the rng', () => {
    const nodes = [node('a', 1), node('b', 0), node('c', 0), node('d', 0)]
    expect(leastLoaded(nodes, INITIAL_STRATEGY_STATE, seq([0])).node!.key).toBe('b')
    expect(leastLoaded(nodes, INITIAL_STRATEGY_STATE, seq([0.5])).node!.key).toBe('c')
    expect(leastLoaded(nodes, INITIAL_STRATEGY_STATE, seq([0.99])).node!.key).toBe('d')
  })

  it('never picks a node with a higher score than another (property)', () => {
    const arb = fc.array(
      fc.record({
        inflight: fc.nat(50),
        rep: fc.option(fc.record({ inflight: fc.nat(50), eventLoopDelayMs: fc.nat(500) })),
      }),
      { minLength: 1, maxLength: 12 },
    )
    fc.assert(
      fc.property(arb, fc.double({ min: 0, max: 0.9999, noNaN: true }), (specs, r) => {
        const nodes = specs.map((s, i) => node(`n${i}`, s.inflight, s.rep ?? undefined))
        const picked = leastLoaded(nodes, INITIAL_STRATEGY_STATE, () => r).node!
        return nodes.every((n) => loadScore(picked) <= loadScore(n))
      }),
    )
  })
})

it('strategyFor maps every name', () => {
  expect(STRATEGY_NAMES.map(strategyFor)).toEqual([roundRobin, random, leastLoaded])
})

describe('rendezvous (Idempotency-Key affinity)', () => {
  const nodes = Array.from({ length: 5 }, (_, i) => node(`http://127.0.0.1:${8010 + i}`))

  it('is deterministic and independent of candidate order', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (key) => {
        const a = rendezvous(nodes, key)
        return a === rendezvous([...nodes].reverse(), key) && a === rendezvous(nodes, key)
      }),
    )
  })

  it('removing a node moves only the keys that chose it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.nat(4), (key, gone) => {
        const before = rendezvous(nodes, key)!
        const after = rendezvous(
          nodes.filter((_, i) => i !== gone),
          key,
        )!
        return before === nodes[gone] ? after !== before : after === before
      }),
    )
  })

  it('spreads keys roughly evenly', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 5000; i++) {
      const k = rendezvous(nodes, `key-${i}`)!.key
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    expect(counts.size).toBe(5)
    for (const c of counts.values()) expect(c).toBeGreaterThan(800)
    expect(rendezvous([], 'k')).toBeUndefined()
  })
})
