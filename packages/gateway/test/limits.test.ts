// Rate-limit hits through the gateway, over HTTP and RESP: checked with the
// nodes' rules before anything is sent, forwarded with one idempotency key
// reused on failover (a retried hit counts once), the node's answer relayed.

import type { RespListener } from '@tally/kit/resp'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, respFor } from './support/gateway.js'

let fakes: FakeNode[]
let app: FastifyInstance
let resp: RespListener
let r: Redis

beforeAll(async () => {
  fakes = await startFakes(3)
  app = await gatewayFor(fakes)
  resp = await respFor(app)
  r = new Redis({ port: resp.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
  await r.connect()
})
afterAll(async () => {
  r.disconnect()
  await resp.close()
  await app.close()
  await Promise.all(fakes.map((f) => f.close()))
})
afterEach(() => {
  for (const f of fakes) f.answerNormally()
})

const hitsSeen = (name: string) =>
  fakes.flatMap((f) =>
    f.seen.filter((s) => s.method === 'POST' && s.url === `/limits/${encodeURIComponent(name)}/hit`),
  )
const hitsCounted = (name: string) => fakes.reduce((s, f) => s + (f.hits.get(name) ?? 0), 0)
const post = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: `/limits/${encodeURIComponent(name)}/hit`,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })

describe('POST /limits/:name/hit through the gateway', () => {
  it("forwards the body and a generated key, and relays the node's answer with `node`", async () => {
    const res = await post('rl:{t}/login', { limit: 5, windowMs: 1000, amount: 2 })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ allowed: true, limit: 5, remaining: 4, resetMs: 1000 })
    expect(fakes.map((f) => f.id)).toContain(body.node)
    expect(res.headers['x-tally-node']).toBe(body.node)
    const [seen] = hitsSeen('rl:{t}/login')
    expect(seen?.body).toEqual({ limit: 5, windowMs: 1000, amount: 2 })
    expect(seen?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('a node failing mid-hit: the retry on another node carries the same key and the hit counts once', async () => {
    for (const f of fakes)
      f.writeMode = 'error'
      // One node left healthy: the gateway reaches it after failures elsewhere.
    ;(fakes[2] as FakeNode).writeMode = undefined
    const res = await post('fo', { limit: 5, windowMs: 1000 }, { 'idempotency-key': 'hit-fo-1' })
    expect(res.statusCode).toBe(200)
    const seen = hitsSeen('fo')
    expect(new Set(seen.map((s) => s.idempotencyKey))).toEqual(new Set(['hit-fo-1']))
    expect(hitsCounted('fo')).toBe(1)
    // The client's own retry of the same hit (same key) counts nothing more.
    expect(
      (await post('fo', { limit: 5, windowMs: 1000 }, { 'idempotency-key': 'hit-fo-1' })).statusCode,
    ).toBe(200)
    expect(hitsCounted('fo')).toBe(1)
  })

  it("a node's refusal is relayed unchanged", async () => {
    const refusal = { error: { code: 'TALLY_IDEMPOTENCY_MISMATCH', message: 'key used for another hit' } }
    for (const f of fakes) f.writeAnswer = { status: 422, body: refusal }
    const res = await post('relay', { limit: 5, windowMs: 1000 }, { 'idempotency-key': 'k-relay' })
    expect(res.statusCode).toBe(422)
    expect(res.json()).toEqual(refusal)
  })

  const BAD: Array<[string, string, unknown, string]> = [
    ['limit missing', 'b', { windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit 0', 'b', { limit: 0, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit fraction', 'b', { limit: 2.5, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit too large', 'b', { limit: 2e9, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['windowMs missing', 'b', { limit: 5 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs negative', 'b', { limit: 5, windowMs: -1 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs too large', 'b', { limit: 5, windowMs: 1e9 }, 'TALLY_WINDOW_INVALID'],
    ['amount 0', 'b', { limit: 5, windowMs: 1000, amount: 0 }, 'TALLY_AMOUNT_INVALID'],
    ['amount above the limit', 'b', { limit: 5, windowMs: 1000, amount: 9 }, 'TALLY_AMOUNT_INVALID'],
    ['unknown field', 'b', { limit: 5, windowMs: 1000, x: 1 }, 'TALLY_BAD_REQUEST'],
    ['body not an object', 'b', '[1]', 'TALLY_BAD_REQUEST'],
    ['bad name', 'a b', { limit: 5, windowMs: 1000 }, 'TALLY_NAME_INVALID'],
  ]
  const limitPosts = () =>
    fakes.flatMap((f) => f.seen).filter((s) => s.method === 'POST' && s.url.startsWith('/limits/')).length
  it.each(BAD)('%s → 400 with its code, nothing forwarded', async (_what, name, body, code) => {
    const before = limitPosts()
    const res = await post(name, body)
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe(code)
    expect(limitPosts()).toBe(before)
  })
})

describe('TALLY.LIMIT through the gateway (ioredis)', () => {
  it('replies the four integers; KEY is forwarded and reused', async () => {
    expect(await r.call('TALLY.LIMIT', 'resp:l', '7', '1000', 'KEY', 'rk-1')).toEqual([1, 7, 6, 1000])
    expect(hitsSeen('resp:l').map((s) => s.idempotencyKey)).toEqual(['rk-1'])
    await r.call('TALLY.LIMIT', 'resp:l', '7', '1000')
    const keys = hitsSeen('resp:l').map((s) => s.idempotencyKey)
    expect(keys).toHaveLength(2)
    expect(keys.filter((k) => k !== 'rk-1')[0]).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses bad arguments before forwarding', async () => {
    await expect(r.call('TALLY.LIMIT', 'resp:b', '0', '1000')).rejects.toThrow('TALLY_LIMIT_INVALID')
    await expect(r.call('TALLY.LIMIT', 'resp:b', '5', '0')).rejects.toThrow('TALLY_WINDOW_INVALID')
    await expect(r.call('TALLY.LIMIT', 'a b', '5', '10')).rejects.toThrow('TALLY_NAME_INVALID')
    expect(hitsSeen('resp:b')).toEqual([])
  })
})
