// Read homes: the pure choice (read-home.ts), and reads of one counter
// through a gateway in front of three fake nodes over real sockets.

import { until } from '@tally/kit/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HOME_SLACK, homeKey, readHome } from '../src/read-home.js'
import { type Candidate, rendezvous } from '../src/strategies.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'

const nodes = (...keys: string[]): Candidate[] => keys.map((key) => ({ key, inflight: 0 }))

describe('homeKey', () => {
  it.each([
    ['/counter', '/counters/default'],
    ['/counters/default', '/counters/default'],
    ['/counters/default?explain=1', '/counters/default'],
    ['/counters/a%2Fb?explain=1', '/counters/a%2Fb'],
    ['/counters', '/counters'],
    ['/bounded/seats', '/bounded/seats'],
    ['', ''],
    ['?x', ''],
  ])('%j → %j', (path, key) => {
    expect(homeKey(path)).toBe(key)
  })
})

describe('readHome', () => {
  it('is the rendezvous choice on the key, whatever the candidate order (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.uniqueArray(fc.webUrl(), { minLength: 1, maxLength: 6 }), (key, urls) => {
        const c = nodes(...urls)
        const home = readHome(c, key, false)
        expect(home?.key).toBe(rendezvous(c, key)?.key)
        expect(readHome([...c].reverse(), key, false)?.key).toBe(home?.key)
      }),
    )
  })

  it('returns undefined for no candidates', () => {
    expect(readHome([], 'k', false)).toBeUndefined()
    expect(readHome([], 'k', true)).toBeUndefined()
  })

  it('spreads counters over the nodes', () => {
    const c = nodes('http://a:1', 'http://b:1', 'http://c:1')
    const counts = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const k = readHome(c, `/counters/c${i}`, false)?.key ?? ''
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    expect(counts.size).toBe(3)
    for (const n of counts.values()) expect(n).toBeGreaterThan(800)
  })

  it('least-loaded: the home unless it is more than HOME_SLACK above the least loaded', () => {
    const c = nodes('http://a:1', 'http://b:1', 'http://c:1')
    // A key whose home is `a` when loads are equal.
    const key = Array.from({ length: 100 }, (_, i) => `/counters/k${i}`).find(
      (k) => readHome(c, k, true)?.key === 'http://a:1',
    )
    expect(key).toBeDefined()
    const withA = (inflight: number): Candidate[] => [{ key: 'http://a:1', inflight }, ...c.slice(1)]
    expect(readHome(withA(HOME_SLACK), key ?? '', true)?.key).toBe('http://a:1')
    expect(readHome(withA(HOME_SLACK + 1), key ?? '', true)?.key).not.toBe('http://a:1')
    // Not load-aware (round-robin, random): the home whatever its load.
    expect(readHome(withA(1000), key ?? '', false)?.key).toBe('http://a:1')
    // Reported load counts too.
    const reported: Candidate[] = [
      { key: 'http://a:1', inflight: 0, load: { inflight: 3, eventLoopDelayMs: 50 } },
      ...c.slice(1),
    ]
    expect(readHome(reported, key ?? '', true)?.key).not.toBe('http://a:1')
  })
})

describe('reads through the gateway', () => {
  const t = perTestGateway<FakeNode>()

  const readsOf = (f: FakeNode, url: string): number => f.seen.filter((s) => s.url === url).length

  it.each(['round-robin', 'random', 'least-loaded'] as const)(
    '%s: every read of one counter goes to one node; its failure moves them, all to one other node',
    async (strategy) => {
      t.fakes = await startFakes(3)
      t.app = await gatewayFor(t.fakes, { strategy, healthIntervalMs: 60_000 })
      for (let i = 0; i < 12; i++) {
        const r = await t.app.inject({ method: 'GET', url: '/counters/hot' })
        expect(r.statusCode).toBe(200)
      }
      const home = t.fakes.filter((f) => readsOf(f, '/counters/hot') > 0)
      expect(home.map((f) => readsOf(f, '/counters/hot'))).toEqual([12])
      // The home fails: the read that meets it fails over, later reads go to one other node.
      home[0]!.mode = 'error'
      for (let i = 0; i < 6; i++) {
        const r = await t.app.inject({ method: 'GET', url: '/counters/hot' })
        expect(r.statusCode).toBe(200)
        expect(r.json().node).not.toBe(home[0]!.id)
      }
      const others = t.fakes.filter((f) => f !== home[0] && readsOf(f, '/counters/hot') > 0)
      expect(others.map((f) => readsOf(f, '/counters/hot'))).toEqual([6])
    },
  )

  it('the default counter, /counter and /counters/default share a home; explained reads too', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    const served = new Set<string>()
    for (const url of ['/counter', '/counters/default', '/counters/default?explain=1', '/counter']) {
      const r = await t.app.inject({ method: 'GET', url })
      expect(r.statusCode).toBe(200)
      served.add(r.json().node)
    }
    expect(served.size).toBe(1)
  })

  it('reads of one counter never go back and forth between replicas that learnt different writes', async () => {
    t.fakes = await startFakes(3)
    // No gossip between fakes: each replica holds a different value of `split`.
    for (const [i, f] of t.fakes.entries()) f.map.increment('split', i + 1)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    const values = new Set<number>()
    for (let i = 0; i < 9; i++)
      values.add((await t.app.inject({ method: 'GET', url: '/counters/split' })).json().value as number)
    expect(values.size).toBe(1)
  })

  it('a home that recovers gets its reads back', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 50 })
    const first = (await t.app.inject({ method: 'GET', url: '/counters/back' })).json().node as string
    const home = t.fakes.find((f) => f.id === first)!
    home.mode = 'error'
    expect((await t.app.inject({ method: 'GET', url: '/counters/back' })).json().node).not.toBe(first)
    home.mode = 'ok'
    await until(
      async () => (await t.app!.inject({ method: 'GET', url: '/counters/back' })).json().node === first,
      { what: 'reads back on their home', timeoutMs: 15_000 },
    )
    for (let i = 0; i < 6; i++)
      expect((await t.app.inject({ method: 'GET', url: '/counters/back' })).json().node).toBe(first)
  })
})
