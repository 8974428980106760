import { until } from '@tally/kit/testing'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
// The node talks to discovery over HTTP only; the test starts the real
// registry app in-process so the client is checked against the real server.
import { buildApp } from '../../../discovery/src/app.js'
import { type DiscoveredPeer, DiscoveryClient, retryDelay } from '../../src/discovery/discovery-client.js'

const logger = pino({ level: 'silent' })
const INTERVAL = 100
const TOKEN = 'discovery-secret-1'

const apps: FastifyInstance[] = []
const clients: DiscoveryClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()))
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function startDiscovery(opts: { port?: number; token?: string; ttlMs?: number } = {}) {
  const app = await buildApp({
    ttlMs: opts.ttlMs ?? INTERVAL * 3,
    ...(opts.token === undefined ? {} : { token: opts.token }),
  })
  apps.push(app)
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 })
  const addr = app.server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return { app, port: addr.port, url: `http://127.0.0.1:${addr.port}` }
}

function self(id: string, n = 1) {
  return { id, addr: `127.0.0.1:${9000 + n}`, http: `http://127.0.0.1:${8010 + n}` }
}

function client(
  urls: string[],
  id: string,
  extra: Partial<ConstructorParameters<typeof DiscoveryClient>[0]> = {},
) {
  const seen: DiscoveredPeer[][] = []
  const c = new DiscoveryClient({
    urls,
    self: self(id),
    heartbeatIntervalMs: INTERVAL,
    logger,
    onPeers: (p) => seen.push(p),
    ...extra,
  })
  clients.push(c)
  return { c, seen, last: () => seen.at(-1) }
}

const ids = (peers: DiscoveredPeer[] | undefined) => (peers ?? []).map((p) => p.id)

describe('DiscoveryClient against the real registry', () => {
  it('registers at start, heartbeats past the ttl, and reports other peers (not itself)', async () => {
    const d = await startDiscovery()
    // 'other' stands for a live peer: it re-registers every interval, as its own
    // client would, so it is never older than the ttl however late `a` asks.
    d.app.registry.register(self('other', 2))
    const other = setInterval(() => d.app.registry.register(self('other', 2)), INTERVAL)
    try {
      const a = client([d.url], 'a')
      a.c.start()
      await until(() => ids(a.last()).includes('other'), { what: 'peer list' })
      expect(ids(a.last())).toEqual(['other'])
      expect(a.last()![0]).toEqual(self('other', 2))
      // Stay registered well past the ttl (3 intervals) thanks to heartbeats: wait until the
      // registry (its own clock) has seen heartbeats for more than two ttls after the
      // registration; an entry not heartbeaten for one ttl is never listed.
      const seen = () => d.app.registry.list().find((p) => p.id === 'a')?.lastSeen
      const registered = Date.parse((await until(seen, { what: 'registration' })) as string)
      await until(() => Date.parse(seen() ?? '') - registered > INTERVAL * 6, {
        what: 'heartbeats past two ttls',
      })
      expect(d.app.registry.list().map((p) => p.id)).toContain('a')
    } finally {
      clearInterval(other)
    }
  })

  it('two clients learn each other; a new peer shows up on the next refresh', async () => {
    const d = await startDiscovery()
    const a = client([d.url], 'a')
    const b = client([d.url], 'b')
    a.c.start()
    b.c.start()
    await until(() => ids(a.last()).includes('b') && ids(b.last()).includes('a'), {
      what: 'mutual discovery',
    })
    const c = client([d.url], 'c')
    c.c.start()
    await until(() => ids(a.last()).join() === 'b,c', { what: 'a learns c' })
  })

  it('re-reads the list only when the membership version moves', async () => {
    const d = await startDiscovery()
    let gets = 0
    let heartbeats = 0
    const counting = (async (url: string | URL | Request, init?: RequestInit) => {
      if (String(url).endsWith('/peers') && (init?.method ?? 'GET') === 'GET') gets++
      const res = await fetch(url, init)
      if (String(url).endsWith('/heartbeat')) heartbeats++
      return res
    }) as typeof fetch
    const a = client([d.url], 'a', { fetch: counting })
    a.c.start()
    await until(() => d.app.registry.size === 1, { what: 'registration' })
    const hbBefore = () => gets
    // Six heartbeat replies later (each carries the unchanged membership version)…
    const hb = heartbeats
    await until(() => heartbeats >= hb + 6, { what: 'six more heartbeats' })
    expect(hbBefore()).toBeLessThanOrEqual(1) // membership unchanged: heartbeats only
    d.app.registry.register(self('late', 3))
    await until(() => ids(a.last()).includes('late'), { what: 'late peer fetched' })
    expect(gets).toBeGreaterThanOrEqual(1)
  })

  it('re-registers after the registry restarts (heartbeat 404) within about one interval', async () => {
    const d = await startDiscovery()
    const a = client([d.url], 'a')
    a.c.start()
    await until(() => d.app.registry.size === 1, { what: 'first registration' })
    await d.app.close()
    const restarted = await startDiscovery({ port: d.port })
    const t0 = Date.now()
    await until(() => restarted.app.registry.list().some((p) => p.id === 'a'), { what: 're-registration' })
    // Generous bound for a loaded machine; nominally ≤ one interval.
    expect(Date.now() - t0).toBeLessThan(INTERVAL * 20)
  })

  it('stop() deregisters at once', async () => {
    const d = await startDiscovery()
    const a = client([d.url], 'a')
    a.c.start()
    await until(() => d.app.registry.size === 1, { what: 'registration' })
    await a.c.stop()
    expect(d.app.registry.list()).toEqual([])
  })

  it('a server that is down neither throws nor empties the list, and is used once it is back', async () => {
    const up = await startDiscovery()
    const down = await startDiscovery()
    const downPort = down.port
    await down.app.close()
    up.app.registry.register(self('other', 2))
    const a = client([`http://127.0.0.1:${downPort}`, up.url], 'a')
    a.c.start()
    await until(() => ids(a.last()).includes('other'), { what: 'list from the live server' })
    await until(() => (a.c.status()[0]?.failures ?? 0) >= 2, { what: 'failures counted' })
    expect(a.c.status()[1]?.registered).toBe(true)
    // Now the only server goes away: the known list must survive.
    const before = a.seen.length
    await up.app.close()
    await until(() => (a.c.status()[1]?.failures ?? 0) >= 2, { what: 'second server failing' })
    expect(a.seen.length).toBe(before)
    // The first server comes back (empty) and the client registers there.
    const back = await startDiscovery({ port: downPort })
    await until(() => back.app.registry.list().some((p) => p.id === 'a'), {
      what: 'registration on the returning server',
    })
  })

  it('sends the bearer token; without it registration fails, is logged as an error, and is retried', async () => {
    const d = await startDiscovery({ token: TOKEN })
    const errors: string[] = []
    const capture = pino({ level: 'error' }, { write: (line: string) => errors.push(line) })
    const bad = client([d.url], 'bad', { logger: capture })
    bad.c.start()
    await until(() => (bad.c.status()[0]?.failures ?? 0) >= 2, { what: 'failures without a token' })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('TALLY_UNAUTHORIZED')
    expect(d.app.registry.size).toBe(0)
    const good = client([d.url], 'good', { token: TOKEN })
    good.c.start()
    await until(() => d.app.registry.size === 1, { what: 'registration with a token' })
    await good.c.stop()
    expect(d.app.registry.size).toBe(0)
  })
})

describe('DiscoveryClient with a hostile or hanging server (injected fetch)', () => {
  it('ignores garbage responses and keeps its timers alive', async () => {
    let calls = 0
    const bodies = [
      'not json',
      '{"peers": 5}',
      '[{"id": 1}]',
      'null',
      '{"peers":[{"id":"x","addr":"h:99999"}]}',
    ]
    const fakeFetch = (async () => {
      calls++
      return new Response(bodies[calls % bodies.length], { status: 200 })
    }) as typeof fetch
    const a = client(['http://127.0.0.1:1'], 'a', { fetch: fakeFetch })
    a.c.start()
    await until(() => calls > 12, { what: 'several ticks' })
    for (const list of a.seen) expect(list).toEqual([])
  })

  it('stop() is bounded even when the server never answers', async () => {
    let requests = 0
    const hang = (() => {
      requests++
      return new Promise<Response>(() => {})
    }) as typeof fetch
    const a = client(['http://127.0.0.1:1'], 'a', { fetch: hang, stopTimeoutMs: 200 })
    a.c.start()
    await until(() => requests >= 1, { what: 'a request in flight' })
    const t0 = Date.now()
    await a.c.stop()
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('a throwing onPeers is contained', async () => {
    const d = await startDiscovery()
    let n = 0
    let heartbeats = 0
    const counting = (async (url: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(url, init)
      if (String(url).endsWith('/heartbeat')) heartbeats++
      return res
    }) as typeof fetch
    const a = client([d.url], 'a', {
      fetch: counting,
      onPeers: () => {
        n++
        throw new Error('boom')
      },
    })
    a.c.start()
    await until(() => n >= 1, { what: 'onPeers called' })
    // Three more ticks have completed since the throw: a failure would be counted by now.
    const hb = heartbeats
    await until(() => heartbeats >= hb + 3, {
      what: 'three more heartbeats',
    })
    expect(a.c.status()[0]?.failures).toBe(0)
  })

  it('rejects nonsense options', () => {
    const base = { self: self('a'), heartbeatIntervalMs: 100, logger, onPeers: () => {} }
    expect(() => new DiscoveryClient({ ...base, urls: [] })).toThrow(RangeError)
    expect(() => new DiscoveryClient({ ...base, urls: ['ftp://x'] })).toThrow(TypeError)
    expect(() => new DiscoveryClient({ ...base, urls: ['http://x'], heartbeatIntervalMs: 0 })).toThrow(
      RangeError,
    )
  })
})

describe('pure helpers', () => {
  it('retryDelay grows, stays within [0, interval], never exceeds one interval', () => {
    expect(retryDelay(1, 1000, 1)).toBe(100)
    expect(retryDelay(3, 1000, 1)).toBe(400)
    expect(retryDelay(10, 1000, 1)).toBe(1000)
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (f, interval, r) => {
          const d = retryDelay(f, interval, r)
          return d >= 0 && d <= interval
        },
      ),
    )
  })
})
