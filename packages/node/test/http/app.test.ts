// HTTP API through app.inject(): every route, every kind of bad input.

import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let app: FastifyInstance
let node: TallyNode

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'api', [])).node
  app = buildApp({ node })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await node.stop()
})

const post = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    ...(body === undefined
      ? {}
      : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } }),
    ...(body === undefined ? { headers } : {}),
  })

function errorOf(res: { statusCode: number; json: () => unknown }): { status: number; code: string } {
  const body = res.json() as { error: { code: string; message: string } }
  expect(typeof body.error.message).toBe('string')
  return { status: res.statusCode, code: body.error.code }
}

describe('counter routes', () => {
  it('names with Redis key shapes work percent-encoded in the path', async () => {
    for (const name of ['user:42', 'rl:{tenant}/login', 'views@2026-12-01', 'page|home', 'q?a#b%c&d=e']) {
      const seg = encodeURIComponent(name)
      expect((await post(`/counters/${seg}/increment`, { amount: 3 })).json()).toEqual({ name, value: 3 })
      expect((await post(`/counters/${seg}/decrement`)).json()).toEqual({ name, value: 2 })
      expect((await app.inject(`/counters/${seg}`)).json()).toEqual({ name, value: 2 })
      expect((await app.inject(`/state?name=${seg}`)).json().counters).toHaveProperty([name])
    }
    const listed = (await app.inject('/counters')).json().counters.map((c: { name: string }) => c.name)
    expect(listed).toContain('rl:{tenant}/login')
  })

  it('default counter: increment without a body, decrement with an amount, read', async () => {
    expect((await post('/increment')).json()).toEqual({ name: 'default', value: 1 })
    expect((await post('/increment', { amount: 41 })).json()).toEqual({ name: 'default', value: 42 })
    expect((await post('/decrement', { amount: 2 })).json()).toEqual({ name: 'default', value: 40 })
    expect((await post('/decrement', {})).json()).toEqual({ name: 'default', value: 39 })
    expect((await app.inject('/counter')).json()).toEqual({ name: 'default', value: 39 })
  })

  it('an empty body with a JSON content type counts as no body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/counters/empty/increment',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.json()).toEqual({ name: 'empty', value: 1 })
  })

  it('accepts a charset parameter on the JSON content type', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/counters/charset/increment',
      payload: '{"amount":2}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(res.json()).toEqual({ name: 'charset', value: 2 })
  })

  it('named counters', async () => {
    expect((await post('/counters/page:home/increment', { amount: 5 })).json()).toEqual({
      name: 'page:home',
      value: 5,
    })
    expect((await post('/counters/page:home/decrement')).json()).toEqual({ name: 'page:home', value: 4 })
    expect((await app.inject('/counters/page:home')).json()).toEqual({ name: 'page:home', value: 4 })
    expect((await app.inject('/counters/never-touched')).json()).toEqual({ name: 'never-touched', value: 0 })
    const list = (await app.inject('/counters')).json() as {
      counters: Array<{ name: string; value: number }>
    }
    expect(list.counters).toContainEqual({ name: 'page:home', value: 4 })
    expect(list.counters).toContainEqual({ name: 'default', value: 39 })
  })

  it('state, health, peers, metrics', async () => {
    const state = (await app.inject('/state?name=page:home')).json() as { vv: object; counters: object }
    expect(state).toEqual({
      vv: {},
      counters: { 'page:home': { [node.identity.replicaId]: [5, 1, expect.any(Number)] } },
    })
    const full = (await app.inject('/state')).json() as { vv: Record<string, number> }
    expect(full.vv[node.identity.replicaId]).toBe(node.map.seq)
    const health = (await app.inject('/health')).json()
    expect(health).toEqual({
      id: 'api',
      replica: node.identity.replicaId,
      status: 'ok',
      peers: { live: 0, suspect: 0, dead: 0 },
      uptime: expect.any(Number),
      load: { inflight: 0, eventLoopDelayMs: expect.any(Number) },
    })
    expect((await app.inject('/peers')).json()).toEqual({ peers: [] })
    const stats = (await app.inject('/stats')).json() as { transport: { badFrames: object } }
    expect(stats.transport.badFrames).toBeDefined()
  })
})

describe('idempotency', () => {
  it('a repeat returns the first answer and changes nothing; a different request with the key is 422', async () => {
    const h = { 'idempotency-key': 'req-1' }
    const first = await post('/counters/idem/increment', { amount: 3 }, h)
    expect(first.json()).toEqual({ name: 'idem', value: 3 })
    await post('/counters/idem/increment', { amount: 1 })
    const again = await post('/counters/idem/increment', { amount: 3 }, h)
    expect(again.json()).toEqual({ name: 'idem', value: 3 })
    expect(node.map.value('idem')).toBe(4)
    expect(errorOf(await post('/counters/idem/increment', { amount: 4 }, h))).toEqual({
      status: 422,
      code: 'TALLY_IDEMPOTENCY_MISMATCH',
    })
    expect(errorOf(await post('/counters/idem/decrement', { amount: 3 }, h)).code).toBe(
      'TALLY_IDEMPOTENCY_MISMATCH',
    )
    expect(errorOf(await post('/counters/other/increment', { amount: 3 }, h)).code).toBe(
      'TALLY_IDEMPOTENCY_MISMATCH',
    )
  })

  it('concurrent duplicates count once', async () => {
    const h = { 'idempotency-key': 'burst' }
    const res = await Promise.all(
      Array.from({ length: 20 }, () => post('/counters/burst/increment', { amount: 2 }, h)),
    )
    for (const r of res) expect(r.json()).toEqual({ name: 'burst', value: 2 })
    expect(node.map.value('burst')).toBe(2)
  })

  it('a bad key is 400', async () => {
    for (const k of ['x'.repeat(129), 'tab\there', 'ünï']) {
      expect(errorOf(await post('/increment', undefined, { 'idempotency-key': k }))).toEqual({
        status: 400,
        code: 'TALLY_IDEMPOTENCY_KEY_INVALID',
      })
    }
  })

  it('Tally-Attempt (1-100) is recorded with the key; anything else is 400 and changes nothing', async () => {
    const before = node.map.value('att')
    for (const a of ['0', '101', '1.5', '-1', 'two', '', '01', ' 2']) {
      const res = await post('/counters/att/increment', undefined, {
        'idempotency-key': `att-${a}`,
        'tally-attempt': a,
      })
      expect(errorOf(res)).toEqual({ status: 400, code: 'TALLY_ATTEMPT_INVALID' })
    }
    expect(node.map.value('att')).toBe(before)
    const ok = await post('/counters/att/increment', undefined, {
      'idempotency-key': 'att-ok',
      'tally-attempt': '3',
    })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(node.keys.applications('att-ok')).toMatchObject([
      { attempt: 3, replica: node.identity.replicaId, seq: node.map.seq },
    ])
    await post('/counters/att/increment', undefined, { 'idempotency-key': 'att-default' })
    expect(node.keys.applications('att-default')).toMatchObject([{ attempt: 1 }])
  })
})

describe('bad input never changes anything', () => {
  it.each([
    [{ amount: 0 }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: -1 }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: 1.5 }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: '5' }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: 2 ** 53 }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: null }, 'TALLY_AMOUNT_INVALID'],
    [{ amount: 1, extra: true }, 'TALLY_BAD_REQUEST'],
    [[1], 'TALLY_BAD_REQUEST'],
    ['str', 'TALLY_BAD_REQUEST'],
  ])('body %j → 400 %s', async (body, code) => {
    const before = node.map.digest()
    expect(errorOf(await post('/counters/bad/increment', body))).toEqual({ status: 400, code })
    expect(node.map.digest()).toBe(before)
  })

  it('malformed JSON, wrong content type, oversize body', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/increment',
      payload: '{"amount":',
      headers: { 'content-type': 'application/json' },
    })
    expect(errorOf(bad)).toEqual({ status: 400, code: 'TALLY_BAD_REQUEST' })
    const text = await app.inject({
      method: 'POST',
      url: '/increment',
      payload: 'amount=1',
      headers: { 'content-type': 'text/plain' },
    })
    expect(errorOf(text)).toEqual({ status: 415, code: 'TALLY_UNSUPPORTED_MEDIA_TYPE' })
    const big = await post('/increment', { amount: 1, pad: 'x'.repeat(10_000) })
    expect(errorOf(big)).toEqual({ status: 413, code: 'TALLY_BODY_TOO_LARGE' })
    const proto = await app.inject({
      method: 'POST',
      url: '/increment',
      payload: '{"__proto__":{"amount":5}}',
      headers: { 'content-type': 'application/json' },
    })
    expect(proto.statusCode).toBe(400)
  })

  it('bad names, query and routes', async () => {
    expect(errorOf(await post('/counters/bad%20name/increment'))).toEqual({
      status: 400,
      code: 'TALLY_NAME_INVALID',
    })
    expect(errorOf(await post(`/counters/${'a'.repeat(129)}/increment`))).toEqual({
      status: 400,
      code: 'TALLY_NAME_INVALID',
    })
    expect(errorOf(await post('/counters/__proto__/increment'))).toEqual({
      status: 400,
      code: 'TALLY_NAME_INVALID',
    })
    expect(errorOf(await app.inject('/counters/sp%20ace'))).toEqual({
      status: 400,
      code: 'TALLY_NAME_INVALID',
    })
    expect(errorOf(await post('/increment?consistency=most'))).toEqual({
      status: 400,
      code: 'TALLY_BAD_REQUEST',
    })
    expect(errorOf(await post('/increment?foo=1'))).toEqual({ status: 400, code: 'TALLY_BAD_REQUEST' })
    expect(errorOf(await app.inject('/state?name=no%20pe'))).toEqual({
      status: 400,
      code: 'TALLY_NAME_INVALID',
    })
    expect(errorOf(await app.inject('/nope'))).toEqual({ status: 404, code: 'TALLY_NOT_FOUND' })
    expect(errorOf(await app.inject({ method: 'DELETE', url: '/counter' }))).toEqual({
      status: 404,
      code: 'TALLY_NOT_FOUND',
    })
  })

  it('overflow is 422 TALLY_OVERFLOW and leaves the counter unchanged', async () => {
    await post('/counters/big/increment', { amount: Number.MAX_SAFE_INTEGER })
    expect(errorOf(await post('/counters/big/increment', { amount: 1 }))).toEqual({
      status: 422,
      code: 'TALLY_OVERFLOW',
    })
    expect((await app.inject('/counters/big')).json()).toEqual({
      name: 'big',
      value: Number.MAX_SAFE_INTEGER,
    })
  })

  it('quorum with a single-node cluster succeeds at once', async () => {
    expect((await post('/counters/q/increment?consistency=all')).json()).toEqual({ name: 'q', value: 1 })
  })
})

describe('router-level refusals use the error body too', () => {
  it('a name past the router limit and a malformed URL get {error: {code, message}}', async () => {
    const long = await app.inject({ method: 'GET', url: `/counters/${'a'.repeat(2000)}` })
    expect(long.statusCode).toBe(414)
    expect(long.json().error.code).toBe('TALLY_BAD_REQUEST')
    const badUrl = await app.inject({ method: 'GET', url: '/counters/%E0%A4%A' })
    expect(badUrl.statusCode).toBe(400)
    expect(badUrl.json().error.code).toBe('TALLY_BAD_REQUEST')
    const justOver = await app.inject({ method: 'GET', url: `/counters/${'a'.repeat(129)}` })
    expect(justOver.statusCode).toBe(400)
    expect(justOver.json().error.code).toBe('TALLY_NAME_INVALID')
  })
})

describe('load', () => {
  it('a write waiting for its quorum counts as in flight on /health until it is answered', async () => {
    // Two replicas required and no peer: the write waits its whole quorum timeout.
    const lone = (
      await startSim(new MemoryNetwork(), 'lone', [], { clusterSize: 2, quorumTimeoutMs: 60_000 })
    ).node
    const a = buildApp({ node: lone })
    try {
      await a.ready()
      const inflight = async () => ((await a.inject('/health')).json() as { load: { inflight: number } }).load
      expect((await inflight()).inflight).toBe(0)
      const pending = a.inject({ method: 'POST', url: '/increment?consistency=all' })
      await until(async () => (await inflight()).inflight === 1, { what: 'the write counted in flight' })
      // Stopping the node finishes the ack wait: the write is answered and no longer in flight.
      await lone.stop()
      expect((await pending).statusCode).toBe(504)
      expect((await inflight()).inflight).toBe(0)
    } finally {
      await a.close()
      await lone.stop()
    }
  })
})
