// The hot routes (hot-routes.ts) over real sockets against a fake node: they
// are taken only in their simplest form and skip fastify's hooks; their
// answers, headers and metrics match fastify's (app.inject never takes them);
// any other form, and an error after the node was asked, is fastify's
// answer, with the request sent to the node once.

import { sample, until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { hotRoute } from '../src/hot-routes.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor } from './support/gateway.js'

let fakes: FakeNode[] = []
let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
  await Promise.all(fakes.map((f) => f.close()))
  fakes = []
})

describe('hotRoute', () => {
  it.each([
    ['GET', '/counter', '/counter', '/counter'],
    ['GET', '/counters/a.b_c~d-e', '/counters/:name', '/counters/a.b_c~d-e'],
    ['POST', '/increment', '/increment', '/increment'],
    ['POST', '/decrement', '/decrement', '/decrement'],
    ['POST', '/counters/x/increment', '/counters/:name/increment', '/counters/x/increment'],
    ['POST', '/counters/x/decrement', '/counters/:name/decrement', '/counters/x/decrement'],
  ])('%s %s is hot (route %s, node path %s)', (method, url, route, path) => {
    expect(hotRoute(method, url)).toMatchObject({ route, path })
  })

  it.each([
    ['GET', '/counter?consistency=one'],
    ['GET', '/counters/a%2Fb'],
    ['GET', '/counters/..'],
    ['GET', '/counters/.'],
    ['GET', '/counters/__proto__'],
    ['GET', `/counters/${'x'.repeat(129)}`],
    ['GET', '/counters/a?explain=1'],
    ['GET', '/counters'],
    ['GET', '/counters/'],
    ['HEAD', '/counter'],
    ['POST', '/counter'],
    ['POST', '/increment?consistency=quorum'],
    ['POST', '/counters/x/increment/'],
    ['POST', '/counters/x/ttl'],
    ['POST', '/counters/a:b/increment'],
    ['PUT', '/increment'],
  ])('%s %s is left to fastify', (method, url) => {
    expect(hotRoute(method, url)).toBeUndefined()
  })
})

/** The answer's status, body and headers but the date. */
function shape(status: number, headers: Record<string, unknown>, body: string) {
  const h = Object.fromEntries(
    Object.entries(headers).filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k.toLowerCase())),
  )
  return { status, headers: h, body }
}

async function overHttp(origin: string, method: string, path: string, init: RequestInit = {}) {
  const r = await fetch(`${origin}${path}`, { method, ...init })
  return shape(r.status, Object.fromEntries(r.headers), await r.text())
}

async function injected(
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  const r = await app!.inject({
    method,
    url: path,
    headers,
    ...(body === undefined ? {} : { payload: body }),
  })
  return shape(r.statusCode, r.headers, r.body)
}

const JSON_TYPE = { 'content-type': 'application/json' }

describe('hot routes over HTTP', () => {
  it('serve reads and plain writes without fastify, with fastify’s answers and metrics', async () => {
    fakes = await startFakes(1)
    // Fastify's hooks see every request it serves: counted from before the app is ready.
    let hooked = 0
    app = await buildApp({
      nodes: fakes.map((f) => f.url),
      discovery: [],
      strategy: 'round-robin',
      requestTimeoutMs: 1000,
      healthIntervalMs: 60_000,
      discoveryIntervalMs: 60_000,
      maxAttempts: 3,
      deadlineMs: 4000,
      sampleIntervalMs: 0,
    })
    app.addHook('onRequest', (_req, _reply, done) => {
      hooked++
      done()
    })
    await app.ready()
    await until(() => app?.gateway.registry.list()[0]?.id === 'n1', {
      what: 'the node id known',
      timeoutMs: 15_000,
    })
    // Requests node:http read: every one the raw front did not answer.
    let viaHttp = 0
    app.server.on('request', () => viaHttp++)
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    const [node] = fakes as [FakeNode]

    const post = (path: string, key: string) =>
      overHttp(origin, 'POST', path, {
        headers: { ...JSON_TYPE, 'idempotency-key': key },
        body: '{"amount":3}',
      })
    const a = await post('/counters/hot/increment', 'k1')
    const b = await post('/increment', 'k2')
    const c = await overHttp(origin, 'GET', '/counters/hot')
    const d = await overHttp(origin, 'GET', '/counter')
    expect(hooked).toBe(0)
    // All four on the raw front.
    expect(viaHttp).toBe(0)
    expect(node.map.value('hot')).toBe(3)
    expect(node.map.value('default')).toBe(3)
    expect(node.writes().map((w) => w.idempotencyKey)).toEqual(['k1', 'k2'])

    // The same requests through fastify (inject), keys repeated: answered from the node's records.
    expect(a).toEqual(
      await injected(
        'POST',
        '/counters/hot/increment',
        { ...JSON_TYPE, 'idempotency-key': 'k1' },
        '{"amount":3}',
      ),
    )
    expect(b).toEqual(
      await injected('POST', '/increment', { ...JSON_TYPE, 'idempotency-key': 'k2' }, '{"amount":3}'),
    )
    expect(c).toEqual(await injected('GET', '/counters/hot', {}))
    expect(d).toEqual(await injected('GET', '/counter', {}))
    expect(a.body).toBe('{"name":"hot","value":3,"node":"n1"}')
    expect(a.headers['x-tally-node']).toBe('n1')
    expect(hooked).toBe(4)

    const text = (await app.inject('/metrics')).body
    expect(
      sample(
        text,
        'tally_gateway_requests_total{method="POST",route="/counters/:name/increment",status="200"}',
      ),
    ).toBe(2)
    expect(sample(text, 'tally_gateway_requests_total{method="POST",route="/increment",status="200"}')).toBe(
      2,
    )
    expect(
      sample(text, 'tally_gateway_requests_total{method="GET",route="/counters/:name",status="200"}'),
    ).toBe(2)
    expect(sample(text, 'tally_gateway_requests_total{method="GET",route="/counter",status="200"}')).toBe(2)
  })

  it('hand any other body to fastify, replayed: valid ones served, bad ones refused in the house shape', async () => {
    fakes = await startFakes(1)
    app = await gatewayFor(fakes, { healthIntervalMs: 60_000 })
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    const [node] = fakes as [FakeNode]
    const post = (body: string, headers: Record<string, string> = JSON_TYPE) =>
      overHttp(origin, 'POST', '/counters/r/increment', { headers, body })

    // Valid JSON the hot path does not read itself: fastify parses the replayed body.
    const ok = await post('{"amount":2.0}')
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toEqual({ name: 'r', value: 2, node: 'n1' })
    expect((await post('', JSON_TYPE)).status).toBe(200)
    expect(node.map.value('r')).toBe(3)

    const refusals: Array<[string, number, string]> = [
      ['{"amount":1,"x":1}', 400, 'TALLY_BAD_REQUEST'],
      ['{"amount":1,"amount":2}', 400, 'TALLY_BAD_REQUEST'],
      ['{"amount":0}', 400, 'TALLY_AMOUNT_INVALID'],
      ['{"amount":9007199254740992}', 400, 'TALLY_AMOUNT_INVALID'],
      ['{"amount":', 400, 'TALLY_BAD_REQUEST'],
      [`{"amount":1${' '.repeat(5000)}}`, 413, 'TALLY_BODY_TOO_LARGE'],
    ]
    for (const [body, status, code] of refusals) {
      const r = await post(body)
      expect(r.status, body.slice(0, 30)).toBe(status)
      expect(JSON.parse(r.body).error.code, body.slice(0, 30)).toBe(code)
      expect(r).toEqual(await injected('POST', '/counters/r/increment', JSON_TYPE, body))
    }
    const badKey = await post('{"amount":1}', { ...JSON_TYPE, 'idempotency-key': 'x'.repeat(200) })
    expect(JSON.parse(badKey.body).error.code).toBe('TALLY_IDEMPOTENCY_KEY_INVALID')
    const wrongType = await post('{"amount":1}', { 'content-type': 'text/plain' })
    expect(JSON.parse(wrongType.body).error.code).toBe('TALLY_UNSUPPORTED_MEDIA_TYPE')
    expect(node.map.value('r')).toBe(3)
    expect(node.writes()).toHaveLength(2)
  })

  it('hand a failed request to fastify with its error: answered once, the node asked once', async () => {
    fakes = await startFakes(1)
    app = await gatewayFor(fakes, { healthIntervalMs: 60_000 })
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    const [node] = fakes as [FakeNode]

    // A node's own refusal is relayed with its status and x-tally-node.
    node.writeAnswer = { status: 422, body: { error: { code: 'TALLY_IDEMPOTENCY_MISMATCH', message: 'no' } } }
    const relayed = await overHttp(origin, 'POST', '/increment', {
      headers: { ...JSON_TYPE, 'idempotency-key': 'm1' },
      body: '{"amount":1}',
    })
    expect(relayed.status).toBe(422)
    expect(relayed.headers['x-tally-node']).toBe('n1')
    expect(JSON.parse(relayed.body)).toEqual({ error: { code: 'TALLY_IDEMPOTENCY_MISMATCH', message: 'no' } })
    expect(node.writes()).toHaveLength(1)

    // Every attempt fails: the gateway's own error, in the house shape; the read was sent once.
    node.mode = 'error'
    const failed = await overHttp(origin, 'GET', '/counters/down')
    expect(failed.status).toBe(503)
    expect(JSON.parse(failed.body).error.code).toBe('TALLY_NO_NODES')
    expect(node.seen.filter((s) => s.url === '/counters/down')).toHaveLength(1)
    const text = (await app.inject('/metrics')).body
    expect(
      sample(text, 'tally_gateway_requests_total{method="GET",route="/counters/:name",status="503"}'),
    ).toBe(1)
    expect(sample(text, 'tally_gateway_requests_total{method="POST",route="/increment",status="422"}')).toBe(
      1,
    )
  })
})
