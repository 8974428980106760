// Delete and TTL routes through app.inject(): answers, idempotency keys, and
// a table of bad input that must get a 400 in the house shape and change nothing.

import { MAX_TTL_MS } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let app: FastifyInstance
let node: TallyNode
let now = 1_800_000_000_000

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'api', [], { now: () => now })).node
  app = buildApp({ node })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await node.stop()
})

const json = { 'content-type': 'application/json' }
const inc = (name: string, amount: number) =>
  app.inject({ method: 'POST', url: `/counters/${name}/increment`, payload: { amount } })
const get = async (name: string) => (await app.inject(`/counters/${name}`)).json()
const listed = async () =>
  (await app.inject('/counters')).json().counters.map((c: { name: string }) => c.name)

describe('DELETE /counters/:name', () => {
  it('deletes: reads 0, leaves the list, counts from 0 when written again', async () => {
    await inc('del-a', 5)
    const res = await app.inject({ method: 'DELETE', url: '/counters/del-a' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ name: 'del-a', deleted: true, value: 0 })
    expect(await get('del-a')).toEqual({ name: 'del-a', value: 0 })
    expect(await listed()).not.toContain('del-a')
    expect((await app.inject({ method: 'DELETE', url: '/counters/del-a' })).json().deleted).toBe(false)
    expect((await app.inject({ method: 'DELETE', url: '/counters/never' })).json()).toEqual({
      name: 'never',
      deleted: false,
      value: 0,
    })
    expect((await inc('del-a', 2)).json()).toEqual({ name: 'del-a', value: 2 })
    expect(await listed()).toContain('del-a')
  })

  it('a retry with the same Idempotency-Key gets the first answer and deletes nothing more', async () => {
    await inc('del-k', 3)
    const del = () =>
      app.inject({ method: 'DELETE', url: '/counters/del-k', headers: { 'idempotency-key': 'del-k-1' } })
    expect((await del()).json()).toEqual({ name: 'del-k', deleted: true, value: 0 })
    await inc('del-k', 4)
    expect((await del()).json()).toEqual({ name: 'del-k', deleted: true, value: 0 })
    expect(await get('del-k')).toEqual({ name: 'del-k', value: 4 })
    const other = await app.inject({
      method: 'DELETE',
      url: '/counters/other',
      headers: { 'idempotency-key': 'del-k-1' },
    })
    expect(other.statusCode).toBe(422)
    expect(other.json().error.code).toBe('TALLY_IDEMPOTENCY_MISMATCH')
  })
})

describe('TTL routes', () => {
  it('PUT sets a TTL shown by GET; it expires at now + ttl; DELETE removes it', async () => {
    await inc('ttl-a', 9)
    const put = await app.inject({
      method: 'PUT',
      url: '/counters/ttl-a/ttl',
      headers: json,
      payload: { ttlMs: 1000 },
    })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toEqual({ name: 'ttl-a', ttlMs: 1000, changed: true })
    expect(await get('ttl-a')).toEqual({ name: 'ttl-a', value: 9, ttlMs: 1000 })
    now += 400
    expect(await get('ttl-a')).toEqual({ name: 'ttl-a', value: 9, ttlMs: 600 })
    now += 600
    expect(await get('ttl-a')).toEqual({ name: 'ttl-a', value: 0 })
    expect(await listed()).not.toContain('ttl-a')
    expect((await inc('ttl-a', 1)).json()).toEqual({ name: 'ttl-a', value: 1 })
    expect(await get('ttl-a')).toEqual({ name: 'ttl-a', value: 1 })

    await app.inject({ method: 'PUT', url: '/counters/ttl-a/ttl', headers: json, payload: { ttlMs: 50 } })
    const del = await app.inject({ method: 'DELETE', url: '/counters/ttl-a/ttl' })
    expect(del.json()).toEqual({ name: 'ttl-a', ttlMs: null, changed: true })
    now += 100
    expect(await get('ttl-a')).toEqual({ name: 'ttl-a', value: 1 })
    expect((await app.inject({ method: 'DELETE', url: '/counters/ttl-a/ttl' })).json().changed).toBe(false)
  })

  it('a TTL on a counter that does not exist is 404 TALLY_COUNTER_NOT_FOUND', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/counters/nobody/ttl',
      headers: json,
      payload: { ttlMs: 10 },
    })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('TALLY_COUNTER_NOT_FOUND')
  })

  const bad: Array<[string, string | undefined, string]> = [
    ['negative', '{"ttlMs":-5}', 'TALLY_TTL_INVALID'],
    ['zero', '{"ttlMs":0}', 'TALLY_TTL_INVALID'],
    ['fractional', '{"ttlMs":1.5}', 'TALLY_TTL_INVALID'],
    ['a string', '{"ttlMs":"100"}', 'TALLY_TTL_INVALID'],
    ['null', '{"ttlMs":null}', 'TALLY_TTL_INVALID'],
    ['too big', `{"ttlMs":${MAX_TTL_MS + 1}}`, 'TALLY_TTL_INVALID'],
    ['unsafe', '{"ttlMs":1e300}', 'TALLY_TTL_INVALID'],
    ['missing', '{}', 'TALLY_BAD_REQUEST'],
    ['no body', undefined, 'TALLY_BAD_REQUEST'],
    ['an extra field', '{"ttlMs":100,"at":5}', 'TALLY_BAD_REQUEST'],
    ['an array', '[100]', 'TALLY_BAD_REQUEST'],
  ]
  it.each(bad)('a TTL that is %s is a 400 and changes nothing', async (_what, payload, code) => {
    await inc('ttl-bad', 1)
    const before = await get('ttl-bad')
    const res = await app.inject({
      method: 'PUT',
      url: '/counters/ttl-bad/ttl',
      ...(payload === undefined ? {} : { headers: json, payload }),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe(code)
    expect(typeof res.json().error.message).toBe('string')
    expect(await get('ttl-bad')).toEqual(before)
    expect(node.lifecycle.marks.ttl('ttl-bad')).toBeUndefined()
  })

  it.each([
    ['DELETE', '/counters/x?force=1', 'TALLY_BAD_REQUEST'],
    ['DELETE', '/counters/x/ttl?now=1', 'TALLY_BAD_REQUEST'],
    ['DELETE', `/counters/${'n'.repeat(200)}`, 'TALLY_NAME_INVALID'],
    ['DELETE', '/counters/a%20b/ttl', 'TALLY_NAME_INVALID'],
    ['DELETE', '/counters/x?consistency=most', 'TALLY_BAD_REQUEST'],
    ['DELETE', '/counters/x?consistency=QUORUM', 'TALLY_BAD_REQUEST'],
    ['DELETE', '/counters/x?consistency=', 'TALLY_BAD_REQUEST'],
    ['DELETE', '/counters/x?consistency=one&consistency=all', 'TALLY_BAD_REQUEST'],
    ['DELETE', '/counters/x/ttl?consistency=2', 'TALLY_BAD_REQUEST'],
  ])('%s %s is a 400 %s and changes nothing', async (method, url, code) => {
    await inc('x', 2)
    const before = await get('x')
    const res = await app.inject({ method: method as 'DELETE', url })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe(code)
    expect(await get('x')).toEqual(before)
  })

  it('PUT /counters/:name/ttl with a bad consistency is a 400 and changes nothing', async () => {
    await inc('ttl-c', 1)
    for (const q of ['most', 'ALL', '', '1']) {
      const res = await app.inject({
        method: 'PUT',
        url: `/counters/ttl-c/ttl?consistency=${q}`,
        headers: json,
        payload: { ttlMs: 1000 },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
    }
    expect(node.lifecycle.marks.ttl('ttl-c')).toBeUndefined()
  })

  it('?consistency=quorum|all on a one-node cluster is served by the node alone', async () => {
    await inc('solo', 4)
    const put = await app.inject({
      method: 'PUT',
      url: '/counters/solo/ttl?consistency=all',
      headers: json,
      payload: { ttlMs: 60_000 },
    })
    expect(put.json()).toEqual({ name: 'solo', ttlMs: 60_000, changed: true })
    const persist = await app.inject({ method: 'DELETE', url: '/counters/solo/ttl?consistency=quorum' })
    expect(persist.json()).toEqual({ name: 'solo', ttlMs: null, changed: true })
    const del = await app.inject({ method: 'DELETE', url: '/counters/solo?consistency=quorum' })
    expect(del.json()).toEqual({ name: 'solo', deleted: true, value: 0 })
  })
})

describe('consistency levels a node cannot reach', () => {
  it('a quorum delete with no peer to pull from is a 503 TALLY_QUORUM_UNAVAILABLE at once and deletes nothing', async () => {
    const lone = (await startSim(new MemoryNetwork(), 'lone', [], { clusterSize: 3, quorumTimeoutMs: 100 }))
      .node
    const api = buildApp({ node: lone })
    try {
      await api.inject({ method: 'POST', url: '/counters/held/increment', payload: { amount: 3 } })
      const res = await api.inject({ method: 'DELETE', url: '/counters/held?consistency=quorum' })
      // --cluster-size 3 and no member known: no pull could reach a second replica.
      expect(res.statusCode).toBe(503)
      expect(res.json().error).toMatchObject({
        code: 'TALLY_QUORUM_UNAVAILABLE',
        required: 2,
        reachable: 1,
        down: '',
      })
      expect(res.json().error.message).toMatch(/2 not known to this node yet/)
      expect((await api.inject('/counters/held')).json()).toEqual({ name: 'held', value: 3 })
      const ttl = await api.inject({
        method: 'PUT',
        url: '/counters/held/ttl?consistency=all',
        headers: json,
        payload: { ttlMs: 5000 },
      })
      expect(ttl.statusCode).toBe(503)
      expect(lone.ttlMs('held')).toBeUndefined()
      const one = await api.inject({ method: 'DELETE', url: '/counters/held?consistency=one' })
      expect(one.json()).toEqual({ name: 'held', deleted: true, value: 0 })
      // Neither pulled; nothing came in.
      expect((await api.inject('/stats')).json().resets).toEqual({
        pullsOut: 0,
        pullsIn: 0,
        statesMerged: 0,
        statesInvalid: 0,
        marksIn: 0,
        answersLearnt: 0,
      })
    } finally {
      await api.close()
      await lone.stop()
    }
  })
})
