// The bounded-counter routes through app.inject(): the route table, keyed
// writes, the 409 refusal, and every kind of bad input (400 in the house
// shape, nothing changed).

import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { buildApp } from '../../src/http/app.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let app: FastifyInstance
let node: TallyNode

beforeAll(async () => {
  node = (
    await startSim(new MemoryNetwork(), 'api', [], {
      boundedStore: new MemoryBoundedStore(),
      boundedTransferTimeoutMs: 50,
    })
  ).node
  app = buildApp({ node })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await node.stop()
})

const post = (url: string, payload?: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    ...(payload === undefined ? {} : { payload }),
    headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
  })

function errorOf(res: { statusCode: number; json: () => unknown }): { status: number; code: string } {
  const body = res.json() as { error: { code: string; message: string } }
  expect(typeof body.error.message).toBe('string')
  return { status: res.statusCode, code: body.error.code }
}

describe('bounded routes', () => {
  it('increment, decrement, read with rights; a name may be a bounded and a plain counter at once', async () => {
    expect((await post('/bounded/stock:a/increment', '{"amount":5}')).json()).toEqual({
      name: 'stock:a',
      value: 5,
    })
    expect((await post('/bounded/stock:a/decrement', '{"amount":2}')).json()).toEqual({
      name: 'stock:a',
      value: 3,
    })
    expect((await post('/bounded/stock:a/decrement')).json()).toEqual({ name: 'stock:a', value: 2 })
    expect((await app.inject('/bounded/stock:a')).json()).toEqual({
      name: 'stock:a',
      value: 2,
      rights: { 'api.1': 2 },
    })
    expect((await app.inject('/counters/stock:a')).json()).toEqual({ name: 'stock:a', value: 0 })
    expect((await app.inject('/bounded/never')).json()).toEqual({ name: 'never', value: 0, rights: {} })
  })

  it('a decrement past the rights is 409 TALLY_BOUND_EXCEEDED with the facts, and changes nothing', async () => {
    await post('/bounded/seats/increment', '{"amount":3}')
    const res = await post('/bounded/seats/decrement', '{"amount":4}')
    expect(res.statusCode).toBe(409)
    const { error } = res.json() as { error: Record<string, unknown> }
    expect(error).toMatchObject({ code: 'TALLY_BOUND_EXCEEDED', localRights: 3, value: 3, requested: 4 })
    expect((await app.inject('/bounded/seats')).json().value).toBe(3)
    const none = await post('/bounded/empty/decrement', '{"amount":1}')
    expect(errorOf(none)).toEqual({ status: 409, code: 'TALLY_BOUND_EXCEEDED' })
    expect((await app.inject('/bounded/empty')).json()).toEqual({ name: 'empty', value: 0, rights: {} })
  })

  it('Idempotency-Key: a repeat gets the first answer and changes nothing; another request with it is 422', async () => {
    await post('/bounded/k/increment', '{"amount":10}')
    const first = await post('/bounded/k/decrement', '{"amount":4}', { 'idempotency-key': 'order-1' })
    expect(first.json()).toEqual({ name: 'k', value: 6 })
    const again = await post('/bounded/k/decrement', '{"amount":4}', { 'idempotency-key': 'order-1' })
    expect(again.json()).toEqual({ name: 'k', value: 6 })
    expect((await app.inject('/bounded/k')).json().value).toBe(6)
    const other = await post('/bounded/k/decrement', '{"amount":5}', { 'idempotency-key': 'order-1' })
    expect(errorOf(other)).toEqual({ status: 422, code: 'TALLY_IDEMPOTENCY_MISMATCH' })
    expect((await app.inject('/bounded/k')).json().value).toBe(6)
  })

  it('bad input is a 400 in the house shape and changes nothing', async () => {
    await post('/bounded/bad/increment', '{"amount":7}')
    const cases: Array<[string, string | undefined, Record<string, string>, string]> = [
      ['/bounded/bad/decrement', '{"amount":0}', {}, 'TALLY_AMOUNT_INVALID'],
      ['/bounded/bad/decrement', '{"amount":-1}', {}, 'TALLY_AMOUNT_INVALID'],
      ['/bounded/bad/decrement', '{"amount":1.5}', {}, 'TALLY_AMOUNT_INVALID'],
      ['/bounded/bad/decrement', '{"amount":"1"}', {}, 'TALLY_AMOUNT_INVALID'],
      ['/bounded/bad/increment', '{"amount":9007199254740992}', {}, 'TALLY_AMOUNT_INVALID'],
      ['/bounded/bad/increment', '{"amount":1,"extra":true}', {}, 'TALLY_BAD_REQUEST'],
      ['/bounded/bad/increment', '{"amount":1', {}, 'TALLY_BAD_REQUEST'],
      ['/bounded/bad/increment', '[1]', {}, 'TALLY_BAD_REQUEST'],
      ['/bounded/bad/increment?x=1', '{"amount":1}', {}, 'TALLY_BAD_REQUEST'],
      ['/bounded/bad/increment', '{"amount":1}', { 'idempotency-key': 'é' }, 'TALLY_IDEMPOTENCY_KEY_INVALID'],
      ['/bounded/bad/increment', '{"amount":1}', { 'tally-attempt': '0' }, 'TALLY_ATTEMPT_INVALID'],
      [`/bounded/${'x'.repeat(129)}/increment`, '{"amount":1}', {}, 'TALLY_NAME_INVALID'],
      ['/bounded/__proto__/increment', '{"amount":1}', {}, 'TALLY_NAME_INVALID'],
      ['/bounded/a%20b/increment', '{"amount":1}', {}, 'TALLY_NAME_INVALID'],
    ]
    for (const [url, body, headers, code] of cases) {
      const res = await post(url, body, headers)
      expect(errorOf(res), `${url} ${body}`).toEqual({ status: 400, code })
    }
    expect(errorOf(await app.inject('/bounded/a%20b'))).toEqual({ status: 400, code: 'TALLY_NAME_INVALID' })
    expect(errorOf(await app.inject('/bounded/bad?rights=1'))).toEqual({
      status: 400,
      code: 'TALLY_BAD_REQUEST',
    })
    expect((await app.inject('/bounded/bad')).json()).toEqual({
      name: 'bad',
      value: 7,
      rights: { 'api.1': 7 },
    })
  })

  it('an increment that would pass 2^53−1 is refused with TALLY_OVERFLOW and changes nothing', async () => {
    await post('/bounded/big/increment', JSON.stringify({ amount: Number.MAX_SAFE_INTEGER }))
    expect(errorOf(await post('/bounded/big/increment', '{"amount":1}'))).toEqual({
      status: 422,
      code: 'TALLY_OVERFLOW',
    })
    expect((await app.inject('/bounded/big')).json().value).toBe(Number.MAX_SAFE_INTEGER)
  })
})
