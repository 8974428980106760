// POST /limits/:name/hit through app.inject(): decisions, the answer shape,
// Idempotency-Key, and the bad-input table (400 with our codes, nothing changes).

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

const hit = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: `/limits/${encodeURIComponent(name)}/hit`,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })

describe('POST /limits/:name/hit', () => {
  it('admits up to the limit, then refuses without counting', async () => {
    const W = 60_000
    const answers = []
    for (let i = 0; i < 5; i++) answers.push((await hit('login:alice', { limit: 3, windowMs: W })).json())
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true, false, false])
    expect(answers[0]).toMatchObject({ allowed: true, limit: 3, remaining: 2 })
    expect(answers[2]).toMatchObject({ remaining: 0 })
    for (const a of answers) {
      expect(Object.keys(a).sort()).toEqual(['allowed', 'limit', 'remaining', 'resetMs'])
      expect(a.resetMs).toBeGreaterThan(0)
      expect(a.resetMs).toBeLessThanOrEqual(W)
    }
    // Refusals were not counted: the estimate is the 3 admitted.
    expect(node.limits.table.estimate('login:alice', W, Date.now())).toBe(3)
    // Another window length is another limit; amounts count as that many hits.
    expect((await hit('login:alice', { limit: 10, windowMs: 1_000, amount: 10 })).json()).toMatchObject({
      allowed: true,
      remaining: 0,
    })
  })

  it('a repeat with the same Idempotency-Key answers as the first and counts nothing', async () => {
    const h = { 'idempotency-key': 'hit-1' }
    const first = (await hit('k', { limit: 5, windowMs: 60_000, amount: 2 }, h)).json()
    const again = (await hit('k', { limit: 5, windowMs: 60_000, amount: 2 }, h)).json()
    expect(again).toEqual(first)
    expect(node.limits.table.estimate('k', 60_000, Date.now())).toBe(2)
    const other = await hit('k', { limit: 5, windowMs: 60_000, amount: 3 }, h)
    expect(other.statusCode).toBe(422)
    expect(other.json().error.code).toBe('TALLY_IDEMPOTENCY_MISMATCH')
    expect(node.limits.table.estimate('k', 60_000, Date.now())).toBe(2)
  })

  const BAD: Array<[string, string, unknown, string]> = [
    ['limit missing', 'b', { windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit 0', 'b', { limit: 0, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit negative', 'b', { limit: -1, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit fraction', 'b', { limit: 1.5, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit string', 'b', { limit: '5', windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['limit too large', 'b', { limit: 1_000_000_001, windowMs: 1000 }, 'TALLY_LIMIT_INVALID'],
    ['windowMs missing', 'b', { limit: 5 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs 0', 'b', { limit: 5, windowMs: 0 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs negative', 'b', { limit: 5, windowMs: -10 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs fraction', 'b', { limit: 5, windowMs: 0.5 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs too large', 'b', { limit: 5, windowMs: 86_400_001 }, 'TALLY_WINDOW_INVALID'],
    ['windowMs null', 'b', { limit: 5, windowMs: null }, 'TALLY_WINDOW_INVALID'],
    ['amount 0', 'b', { limit: 5, windowMs: 1000, amount: 0 }, 'TALLY_AMOUNT_INVALID'],
    ['amount negative', 'b', { limit: 5, windowMs: 1000, amount: -2 }, 'TALLY_AMOUNT_INVALID'],
    ['amount fraction', 'b', { limit: 5, windowMs: 1000, amount: 1.5 }, 'TALLY_AMOUNT_INVALID'],
    ['amount above the limit', 'b', { limit: 5, windowMs: 1000, amount: 6 }, 'TALLY_AMOUNT_INVALID'],
    ['unknown field', 'b', { limit: 5, windowMs: 1000, burst: 2 }, 'TALLY_BAD_REQUEST'],
    ['body an array', 'b', [5, 1000], 'TALLY_BAD_REQUEST'],
    ['body null', 'b', 'null', 'TALLY_BAD_REQUEST'],
    ['body not JSON', 'b', '{"limit":', 'TALLY_BAD_REQUEST'],
    ['name too long', 'x'.repeat(129), { limit: 5, windowMs: 1000 }, 'TALLY_NAME_INVALID'],
    ['name with a space', 'a b', { limit: 5, windowMs: 1000 }, 'TALLY_NAME_INVALID'],
    ['name __proto__', '__proto__', { limit: 5, windowMs: 1000 }, 'TALLY_NAME_INVALID'],
  ]
  it.each(BAD)('%s → 400 with its code, nothing changes', async (_what, name, body, code) => {
    const before = node.limits.table.tuples()
    const res = await hit(name, body)
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe(code)
    expect(typeof res.json().error.message).toBe('string')
    expect(node.limits.table.tuples()).toEqual(before)
  })

  it('refuses a bad Idempotency-Key and a query string, counting nothing', async () => {
    const before = node.limits.table.tuples()
    const k = await hit('c', { limit: 5, windowMs: 1000 }, { 'idempotency-key': 'a b\u0001' })
    expect([k.statusCode, k.json().error.code]).toEqual([400, 'TALLY_IDEMPOTENCY_KEY_INVALID'])
    const q = await app.inject({
      method: 'POST',
      url: '/limits/c/hit?limit=5',
      payload: '{"limit":5,"windowMs":1000}',
      headers: { 'content-type': 'application/json' },
    })
    expect([q.statusCode, q.json().error.code]).toEqual([400, 'TALLY_BAD_REQUEST'])
    expect(node.limits.table.tuples()).toEqual(before)
  })
})
