// The gateway learns nodes from a (fake) discovery service.

import type { AddressInfo } from 'node:net'
import { until } from '@tally/kit/testing'
import Fastify, { type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { parseHealth, parsePeers } from '../src/background.js'
import { policyFor } from '../src/health.js'
import { MAX_MISSED_POLLS, Registry } from '../src/registry.js'
import { strategyFor } from '../src/strategies.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor } from './support/gateway.js'

let fakes: FakeNode[] = []
let app: FastifyInstance | undefined
let disc: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  await disc?.close()
  app = undefined
  disc = undefined
  await Promise.all(fakes.map((f) => f.close()))
  fakes = []
})

/** A fake discovery service serving `peers()`; records the Authorization headers it saw. */
async function fakeDiscovery(peers: () => unknown, token?: string) {
  const auth: Array<string | undefined> = []
  const d = Fastify({ logger: false, forceCloseConnections: true })
  d.get('/peers', async (req, reply) => {
    auth.push(req.headers.authorization)
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return reply.code(401).send({ error: { code: 'TALLY_UNAUTHORIZED', message: 'no' } })
    }
    return peers()
  })
  await d.listen({ host: '127.0.0.1', port: 0 })
  return { app: d, url: `http://127.0.0.1:${(d.server.address() as AddressInfo).port}`, auth }
}

const entry = (f: FakeNode) => ({
  id: f.id,
  addr: `127.0.0.1:${f.port + 1}`,
  http: f.url,
  lastSeen: 1,
  status: 'alive',
})

describe('discovery', () => {
  it('uses every node discovery lists (with the bearer token) and follows changes', async () => {
    fakes = await startFakes(3)
    let listed = fakes.slice(0, 2)
    const d = await fakeDiscovery(() => listed.map(entry), 'tok')
    disc = d.app
    app = await gatewayFor([], { discovery: [d.url], discoveryToken: 'tok', discoveryIntervalMs: 50 })
    type Row = { id: string; state: string; lastError: string | null }
    const rows = async (): Promise<Row[]> =>
      (await app!.inject({ method: 'GET', url: '/nodes' })).json().nodes
    const ids = async () =>
      (await rows())
        .filter((n) => n.state !== 'down')
        .map((n) => n.id)
        .sort()
    expect(await ids()).toEqual(['n1', 'n2'])
    expect(d.auth[0]).toBe('Bearer tok')
    const r = await app.inject({ method: 'POST', url: '/increment' })
    expect(r.statusCode).toBe(200)
    listed = [fakes[1]!, fakes[2]!]
    await until(async () => JSON.stringify(await ids()) === '["n2","n3"]', {
      what: 'n1 dropped, n3 added',
      timeoutMs: 10_000,
    })
    // The dropped node stays listed, down, with the reason (and, when a poll
    // had failed before, as one may on a loaded machine, that error after it).
    const n1 = (await rows()).find((n) => n.id === 'n1')
    expect(n1?.state).toBe('down')
    expect(n1?.lastError).toMatch(/^no longer listed by discovery(; last error: .+)?$/)
  })

  it('keeps the last known nodes while discovery is down', async () => {
    fakes = await startFakes(2)
    const d = await fakeDiscovery(() => fakes.map(entry))
    disc = d.app
    // Counts the gateway's failed discovery polls from its log.
    let unreachable = 0
    const logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          if (line.includes('discovery unreachable')) unreachable++
        },
      },
    )
    app = await gatewayFor([], { discovery: [d.url], discoveryIntervalMs: 50, logger })
    await d.app.close()
    disc = undefined
    await until(() => unreachable >= 6, { what: 'six failed discovery polls' })
    expect((await app.inject({ method: 'GET', url: '/nodes' })).json().nodes).toHaveLength(2)
    expect((await app.inject({ method: 'GET', url: '/counter' })).statusCode).toBe(200)
  })

  it('merges discovery with the static list, and answers 503 with neither', async () => {
    fakes = await startFakes(2)
    const d = await fakeDiscovery(() => [entry(fakes[1]!)])
    disc = d.app
    app = await gatewayFor([fakes[0]!], { discovery: [d.url] })
    const nodes = (await app.inject({ method: 'GET', url: '/nodes' })).json().nodes
    expect(nodes.map((n: { source: string }) => n.source).sort()).toEqual(['discovery', 'static'])
    await app.close()
    app = await gatewayFor([])
    const h = await app.inject({ method: 'GET', url: '/health' })
    expect(h.statusCode).toBe(503)
    expect(h.json().error.code).toBe('TALLY_NO_NODES')
    const w = await app.inject({ method: 'POST', url: '/increment' })
    expect(w.statusCode).toBe(503)
    expect(w.json().error.code).toBe('TALLY_NO_NODES')
    const q = await app.inject({ method: 'GET', url: '/counter?consistency=quorum' })
    expect(q.statusCode).toBe(503)
  })
})

describe('parsers of untrusted answers', () => {
  it('parsePeers keeps valid entries only', () => {
    expect(
      parsePeers([
        { id: 'a', http: 'http://127.0.0.1:1/' },
        { id: 'b', http: 'ftp://x' },
        { id: '', http: 'http://127.0.0.1:2' },
        { id: 'c', http: 'http://127.0.0.1:3', status: 'expired' },
        { id: 'd' },
        null,
        7,
      ]),
    ).toEqual([{ id: 'a', http: 'http://127.0.0.1:1' }])
    expect(parsePeers({ peers: [{ id: 'a', http: 'http://h:1' }] })).toEqual([
      { id: 'a', http: 'http://h:1' },
    ])
    expect(parsePeers('x')).toBeUndefined()
    expect(parsePeers(null)).toBeUndefined()
  })

  it('parseHealth needs an id and status ok; load is optional', () => {
    expect(parseHealth({ id: 'n1', status: 'ok', load: { inflight: 2, eventLoopDelayMs: 1.5 } })).toEqual({
      id: 'n1',
      load: { inflight: 2, eventLoopDelayMs: 1.5 },
    })
    expect(parseHealth({ id: 'n1', status: 'ok', load: { inflight: -1, eventLoopDelayMs: 0 } })).toEqual({
      id: 'n1',
      load: undefined,
    })
    expect(parseHealth({ id: 'n1', status: 'stopping' })).toBeUndefined()
    expect(parseHealth({ status: 'ok' })).toBeUndefined()
    expect(parseHealth('ok')).toBeUndefined()
  })
})

describe('Registry.setDiscovered', () => {
  const a = { id: 'a', http: 'http://127.0.0.1:1' }
  const b = { id: 'b', http: 'http://127.0.0.1:2' }
  const registry = () =>
    new Registry({
      staticNodes: [],
      strategy: strategyFor('round-robin'),
      policy: policyFor(1000),
      requestTimeoutMs: 1000,
      now: () => 0,
    })
  const ids = (r: Registry) => r.list().map((e) => e.id)

  it('keeps healthy nodes through a restarted discovery that lists nobody for a while', async () => {
    const r = registry()
    r.setDiscovered([a, b])
    for (const e of r.list()) r.markSuccess(e)
    for (let i = 1; i < MAX_MISSED_POLLS; i++) r.setDiscovered([])
    expect(ids(r)).toEqual(['a', 'b'])
    r.setDiscovered([a, b]) // the nodes re-registered: the count starts over
    for (let i = 1; i < MAX_MISSED_POLLS; i++) r.setDiscovered([a])
    expect(ids(r)).toEqual(['a', 'b'])
    r.setDiscovered([a]) // left out MAX_MISSED_POLLS times in a row: deregistered for good
    expect(ids(r)).toEqual(['a'])
    await r.close()
  })

  it('drops an unlisted node at once when its health checks fail', async () => {
    const r = registry()
    r.setDiscovered([a, b])
    r.markSuccess(r.list()[0]!)
    r.markFailure(r.list()[1]!, 'connection refused')
    r.setDiscovered([a])
    expect(ids(r)).toEqual(['a'])
    await r.close()
  })
})
