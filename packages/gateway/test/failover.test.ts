// Failover, ejection and recovery against fake nodes over real sockets.

import type { AddressInfo } from 'node:net'
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { rendezvous } from '../src/strategies.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'
import { writeLoadWithKill } from './support/load.js'

const t = perTestGateway<FakeNode>()

// Health by node id and by address (the id stays unknown if the first check timed out on a busy machine).
const healthOf = async (gw: FastifyInstance): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await gw.inject({ method: 'GET', url: '/nodes' }))
      .json()
      .nodes.flatMap((n: { id: string | null; address: string; health: string }) => [
        [n.address, n.health],
        ...(n.id === null ? [] : [[n.id, n.health]]),
      ]),
  )

describe('failover', () => {
  it.each(['error', 'hang', 'reset'] as const)(
    'a node failing with %s: the write is retried elsewhere with the same key, counted once, and the node ejected',
    async (mode) => {
      t.fakes = await startFakes(3)
      t.app = await gatewayFor(t.fakes, { requestTimeoutMs: 400, healthIntervalMs: 60_000 })
      // A client key picks its node by rendezvous hashing: make that node the failing one.
      const first = t.fakes.find(
        (f) =>
          f.url ===
          rendezvous(
            t.fakes.map((x) => ({ key: x.url, inflight: 0 })),
            'key-1',
          )?.key,
      )!
      first.writeMode = mode
      const r = await t.app.inject({
        method: 'POST',
        url: '/counters/f/increment',
        payload: { amount: 2 },
        headers: { 'idempotency-key': 'key-1' },
      })
      expect(r.statusCode).toBe(200)
      expect(r.json().node).not.toBe(first.id)
      const attempts = t.fakes.flatMap((f) => f.writes())
      expect(attempts.length).toBe(2)
      expect(attempts.every((a) => a.idempotencyKey === 'key-1')).toBe(true)
      expect(t.fakes.reduce((s, f) => s + f.map.value('f'), 0)).toBe(2)
      expect((await healthOf(t.app))[first.url]).toBe('ejected')
    },
  )

  it("a client's retries with one Idempotency-Key reach the same node and count once", async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    const served = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/counters/retry/increment',
        payload: { amount: 7 },
        headers: { 'idempotency-key': 'client-retry-1' },
      })
      expect(r.statusCode).toBe(200)
      expect(r.json().value).toBe(7)
      served.add(r.json().node)
    }
    expect(served.size).toBe(1)
    expect(t.fakes.reduce((s, f) => s + f.map.value('retry'), 0)).toBe(7)
    // Different keys still spread over the nodes.
    const nodes = new Set<string>()
    for (let i = 0; i < 30; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/increment',
        headers: { 'idempotency-key': `k${i}` },
      })
      nodes.add(r.json().node)
    }
    expect(nodes.size).toBe(3)
  })

  it('a generated key is the same on every attempt', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    t.fakes[0]!.writeMode = 'error'
    t.fakes[1]!.writeMode = 'error'
    const r = await t.app.inject({ method: 'POST', url: '/increment' })
    expect(r.statusCode).toBe(200)
    const keys = new Set(t.fakes.flatMap((f) => f.writes()).map((w) => w.idempotencyKey))
    expect(keys.size).toBe(1)
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/)
    // Each try says which one it is (1, 2, …): the one that succeeded was the last.
    const tries = t.fakes.flatMap((f) => f.writes()).map((w) => w.attempt)
    expect(tries.length).toBeGreaterThanOrEqual(1)
    expect(tries.sort()).toEqual(Array.from({ length: tries.length }, (_, i) => String(i + 1)))
    expect(t.fakes[2]!.writes().map((w) => w.attempt)).toEqual([String(tries.length)])
  })

  it('a node that refuses connections is skipped', async () => {
    t.fakes = await startFakes(2)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    await t.fakes[0]!.close()
    for (let i = 0; i < 4; i++) {
      const r = await t.app.inject({ method: 'GET', url: '/counter' })
      expect(r.statusCode).toBe(200)
      expect([t.fakes[1]!.id, t.fakes[1]!.url]).toContain(r.json().node)
    }
  })

  it('attempts are bounded: max-attempts failing nodes → 502 TALLY_UPSTREAM_FAILED', async () => {
    t.fakes = await startFakes(4)
    t.app = await gatewayFor(t.fakes, { maxAttempts: 2, healthIntervalMs: 60_000 })
    for (const f of t.fakes) f.mode = 'error'
    const r = await t.app.inject({ method: 'GET', url: '/counter' })
    expect(r.statusCode).toBe(502)
    expect(r.json().error.code).toBe('TALLY_UPSTREAM_FAILED')
    expect(t.fakes.reduce((s, f) => s + f.seen.filter((x) => x.url === '/counter').length, 0)).toBe(2)
  })

  it('the overall deadline bounds a request on hanging nodes → 504 TALLY_UPSTREAM_TIMEOUT', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { requestTimeoutMs: 300, deadlineMs: 500, healthIntervalMs: 60_000 })
    for (const f of t.fakes) f.mode = 'hang'
    const t0 = Date.now()
    const r = await t.app.inject({ method: 'GET', url: '/counter' })
    expect(r.statusCode).toBe(504)
    expect(r.json().error.code).toBe('TALLY_UPSTREAM_TIMEOUT')
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('every node down → 503 TALLY_NO_NODES on requests and /health; one returning → recovery', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 50, requestTimeoutMs: 300 })
    for (const f of t.fakes) await f.close()
    const r = await t.app.inject({ method: 'POST', url: '/increment' })
    expect(r.statusCode).toBe(503)
    expect(r.json().error.code).toBe('TALLY_NO_NODES')
    await until(async () => (await t.app!.inject({ method: 'GET', url: '/health' })).statusCode === 503, {
      what: 'health 503',
      timeoutMs: 10_000,
    })
    const h = await t.app.inject({ method: 'GET', url: '/health' })
    expect(h.json().error.code).toBe('TALLY_NO_NODES')

    await t.fakes[1]!.restart()
    await until(async () => (await t.app!.inject({ method: 'GET', url: '/health' })).statusCode === 200, {
      what: 'health 200',
      timeoutMs: 15_000,
    })
    expect((await healthOf(t.app))[t.fakes[1]!.url]).toBe('healthy')
    const w = await t.app.inject({ method: 'POST', url: '/increment' })
    expect(w.statusCode).toBe(200)
    expect(w.json().node).toBe('n2')
  })

  it('an ejected node gets no traffic, and is probed back in once it recovers', async () => {
    t.fakes = await startFakes(3)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 50 })
    t.fakes[0]!.mode = 'error'
    await until(async () => (await healthOf(t.app!))[t.fakes[0]!.url] === 'ejected', {
      what: 'n1 ejected',
      timeoutMs: 10_000,
    })
    const before = t.fakes[0]!.seen.filter((s) => s.url === '/counter').length
    for (let i = 0; i < 6; i++)
      expect((await t.app.inject({ method: 'GET', url: '/counter' })).json().node).not.toBe('n1')
    expect(t.fakes[0]!.seen.filter((s) => s.url === '/counter').length).toBe(before)
    t.fakes[0]!.mode = 'ok'
    await until(async () => (await healthOf(t.app!))[t.fakes[0]!.url] === 'healthy', {
      what: 'n1 back',
      timeoutMs: 15_000,
    })
    // Reads of one counter go to its home node: read many counters, some of which have n1 as home
    // (30 names all missing one of three nodes: odds (2/3)^30, about 5e-6).
    const served = new Set<string>()
    for (let i = 0; i < 30; i++)
      served.add((await t.app.inject({ method: 'GET', url: `/counters/c${i}` })).json().node)
    expect(served.has('n1')).toBe(true)
  })

  it('least-loaded sends traffic away from a node reporting load', async () => {
    t.fakes = await startFakes(2)
    t.fakes[0]!.load = { inflight: 50, eventLoopDelayMs: 200 }
    t.app = await gatewayFor(t.fakes, { strategy: 'least-loaded', healthIntervalMs: 60_000 })
    for (let i = 0; i < 5; i++)
      expect([t.fakes[1]!.id, t.fakes[1]!.url]).toContain(
        (await t.app.inject({ method: 'GET', url: '/counter' })).json().node,
      )
  })

  it('one of five nodes killed mid-load: no client sees an error and the total is exact', async () => {
    t.fakes = await startFakes(5)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 100, requestTimeoutMs: 2000, deadlineMs: 8000 })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const port = (t.app.server.address() as AddressInfo).port
    const requests = 1500
    const { expected, done, errors } = await writeLoadWithKill(`http://127.0.0.1:${port}`, {
      requests,
      connections: 16,
      maxAmount: 7,
      killAfter: 400,
      kill: () => t.fakes[2]!.close(), // "kill" n3 with requests in flight
    })
    expect(errors).toEqual([])
    expect(done).toBe(requests)
    // Every node's state is still in memory (the killed one's too, as if recovered from its WAL):
    // the sum counts each acknowledged increment exactly once.
    expect(t.fakes.reduce((s, f) => s + f.map.value('load'), 0)).toBe(expected)
    expect(t.fakes[2]!.map.value('load')).toBeGreaterThan(0)
  }, 60_000)
})
