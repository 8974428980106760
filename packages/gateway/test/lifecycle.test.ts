// Deletes and TTLs through the gateway, in front of three real tally-node
// processes: HTTP routes (forwarded with one idempotency key), quorum reads
// that apply reset marks, RESP DEL/EXPIRE/TTL/PERSIST through ioredis, a
// bad-input table, and a node killed with SIGKILL after a delete.
// Needs the build (packages/node/dist/tally-node.js).

import { existsSync } from 'node:fs'
import type { RespListener } from '@tally/kit/resp'
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NODE_BIN, type RealNode, startCluster } from './support/cluster.js'
import { gatewayFor, respFor } from './support/gateway.js'

it('the node daemon is built (run npm run build)', () => {
  expect(existsSync(NODE_BIN), `missing ${NODE_BIN}: run npm run build`).toBe(true)
})

let nodes: RealNode[] = []
let stop: () => Promise<void> = async () => {}
let app: FastifyInstance
let resp: RespListener

beforeAll(async () => {
  ;({ nodes, stop } = await startCluster(3))
  app = await gatewayFor(nodes, { healthIntervalMs: 200, requestTimeoutMs: 3000, deadlineMs: 10_000 })
  resp = await respFor(app)
}, 120_000)
afterAll(async () => {
  await resp?.close()
  await app?.close()
  await stop()
})

const json = { 'content-type': 'application/json' }
const inc = (name: string, amount: number) =>
  app.inject({ method: 'POST', url: `/counters/${name}/increment`, payload: { amount } })

/** Every node's own `GET /counters/:name` answer. */
const onNodes = (name: string) =>
  Promise.all(
    nodes.map(
      async (n) => (await fetch(`${n.url}/counters/${name}`)).json() as Promise<Record<string, unknown>>,
    ),
  )

async function everyNode(name: string, pred: (a: Record<string, unknown>) => boolean, what: string) {
  let last: unknown
  await until(
    async () => {
      last = await onNodes(name)
      return (last as Record<string, unknown>[]).every(pred)
    },
    { what, timeoutMs: 8_000 },
  ).catch((e) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`)
  })
}

describe('HTTP through the gateway', () => {
  it('DELETE reaches every node; quorum reads and listings see it; the name counts again', async () => {
    await inc('gw-del', 4)
    await inc('gw-del', 5)
    await everyNode('gw-del', (a) => a.value === 9, 'both writes on every node')
    const del = await app.inject({ method: 'DELETE', url: '/counters/gw-del' })
    expect(del.statusCode).toBe(200)
    expect(del.json()).toMatchObject({ name: 'gw-del', deleted: true, value: 0 })
    expect(typeof del.json().node).toBe('string')
    await everyNode('gw-del', (a) => a.value === 0, 'the delete on every node')
    const all = await app.inject('/counters/gw-del?consistency=all')
    expect(all.json()).toMatchObject({ name: 'gw-del', value: 0 })
    const list = await app.inject('/counters?consistency=all')
    expect(list.json().counters.map((c: { name: string }) => c.name)).not.toContain('gw-del')
    await inc('gw-del', 2)
    await everyNode('gw-del', (a) => a.value === 2, 'the reused name on every node')
  })

  it('a retried DELETE with the same key answers the same and deletes nothing written since', async () => {
    await inc('gw-key', 3)
    // A node deletes what it holds: the DELETE may go to another node than the write did.
    await everyNode('gw-key', (a) => a.value === 3, 'the write everywhere')
    const del = () =>
      app.inject({
        method: 'DELETE',
        url: '/counters/gw-key',
        headers: { 'idempotency-key': 'gw-key-del-1' },
      })
    const first = await del()
    expect(first.json()).toMatchObject({ deleted: true })
    await inc('gw-key', 6)
    const again = await del()
    expect(again.json()).toMatchObject({ deleted: true })
    await everyNode('gw-key', (a) => a.value === 6, 'the write after the delete everywhere')
  })

  it('PUT /ttl expires the counter on every node; DELETE /ttl removes a TTL', async () => {
    await inc('gw-ttl', 8)
    await everyNode('gw-ttl', (a) => a.value === 8, 'the write everywhere')
    const put = await app.inject({
      method: 'PUT',
      url: '/counters/gw-ttl/ttl',
      headers: json,
      payload: { ttlMs: 1500 },
    })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toMatchObject({ name: 'gw-ttl', ttlMs: 1500, changed: true })
    await everyNode('gw-ttl', (a) => typeof a.ttlMs === 'number', 'the TTL on every node')
    await everyNode('gw-ttl', (a) => a.value === 0 && a.ttlMs === undefined, 'the expiry on every node')

    await inc('gw-ttl', 1)
    // A node sets a TTL only on a counter it holds: wait until every node has the write.
    await everyNode('gw-ttl', (a) => a.value === 1, 'the new write everywhere')
    await app.inject({
      method: 'PUT',
      url: '/counters/gw-ttl/ttl',
      headers: json,
      payload: { ttlMs: 600_000 },
    })
    await everyNode('gw-ttl', (a) => typeof a.ttlMs === 'number', 'the second TTL on every node')
    const persist = await app.inject({ method: 'DELETE', url: '/counters/gw-ttl/ttl' })
    expect(persist.json()).toMatchObject({ ttlMs: null, changed: true })
    await everyNode('gw-ttl', (a) => a.ttlMs === undefined && a.value === 1, 'PERSIST on every node')
  })

  const bad: Array<[string, 'PUT' | 'DELETE', string, string | undefined, number, string]> = [
    ['negative TTL', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":-1}', 400, 'TALLY_TTL_INVALID'],
    ['zero TTL', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":0}', 400, 'TALLY_TTL_INVALID'],
    ['fractional TTL', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":2.5}', 400, 'TALLY_TTL_INVALID'],
    ['string TTL', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":"9"}', 400, 'TALLY_TTL_INVALID'],
    ['too big TTL', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":3153600000001}', 400, 'TALLY_TTL_INVALID'],
    ['missing TTL', 'PUT', '/counters/gw-bad/ttl', '{}', 400, 'TALLY_BAD_REQUEST'],
    ['no body', 'PUT', '/counters/gw-bad/ttl', undefined, 400, 'TALLY_BAD_REQUEST'],
    ['extra field', 'PUT', '/counters/gw-bad/ttl', '{"ttlMs":5,"x":1}', 400, 'TALLY_BAD_REQUEST'],
    ['bad name', 'DELETE', '/counters/a%20b', undefined, 400, 'TALLY_NAME_INVALID'],
    ['a query', 'DELETE', '/counters/gw-bad?all=1', undefined, 400, 'TALLY_BAD_REQUEST'],
    [
      'bad consistency',
      'DELETE',
      '/counters/gw-bad?consistency=most',
      undefined,
      400,
      'TALLY_CONSISTENCY_INVALID',
    ],
    [
      'two consistencies',
      'DELETE',
      '/counters/gw-bad?consistency=one&consistency=all',
      undefined,
      400,
      'TALLY_CONSISTENCY_INVALID',
    ],
    [
      'bad TTL consistency',
      'PUT',
      '/counters/gw-bad/ttl?consistency=x',
      '{"ttlMs":5}',
      400,
      'TALLY_CONSISTENCY_INVALID',
    ],
    [
      'bad PERSIST consistency',
      'DELETE',
      '/counters/gw-bad/ttl?consistency=',
      undefined,
      400,
      'TALLY_CONSISTENCY_INVALID',
    ],
    ['TTL on no counter', 'PUT', '/counters/gw-none/ttl', '{"ttlMs":5}', 404, 'TALLY_COUNTER_NOT_FOUND'],
  ]
  it.each(bad)(
    '%s is refused in the house shape and changes nothing',
    async (_w, method, url, payload, status, code) => {
      await inc('gw-bad', 1)
      const before = await onNodes('gw-bad')
      const res = await app.inject({
        method,
        url,
        ...(payload === undefined ? {} : { headers: json, payload }),
      })
      expect(res.statusCode).toBe(status)
      expect(res.json().error.code).toBe(code)
      expect(typeof res.json().error.message).toBe('string')
      expect((await onNodes('gw-bad')).map((a) => a.ttlMs)).toEqual(before.map((a) => a.ttlMs))
    },
  )
})

describe('RESP through the gateway', () => {
  it('DEL, EXPIRE, PTTL, PERSIST, TTL with ioredis', async () => {
    const r = new Redis({ port: resp.port, host: '127.0.0.1', lazyConnect: true })
    await r.connect()
    try {
      await r.incrby('gw-resp', 3)
      // EXPIRE answers 1 only on a node that holds the counter: wait until every node does.
      await everyNode('gw-resp', (a) => a.value === 3, 'the write everywhere')
      expect(await r.expire('gw-resp', 100)).toBe(1)
      const left = await r.pttl('gw-resp')
      expect(left).toBeGreaterThan(90_000)
      expect(left).toBeLessThanOrEqual(100_000)
      expect(await r.persist('gw-resp')).toBe(1)
      expect(await r.ttl('gw-resp')).toBe(-1)
      expect(await r.expire('gw-resp-none', 5)).toBe(0)
      expect(await r.del('gw-resp', 'gw-resp-none')).toBe(1)
      expect(await r.get('gw-resp')).toBeNull()
      expect(await r.ttl('gw-resp')).toBe(-2)
    } finally {
      r.disconnect()
    }
  })
})

describe('restart', () => {
  it('a lone node killed with SIGKILL right after acknowledging a delete and a TTL still has them', async () => {
    // Alone, so nothing after the restart can come from a peer: only its own log.
    const lone = await startCluster(1)
    try {
      const n = lone.nodes[0] as RealNode
      const at = (path: string, init?: RequestInit) => fetch(`${n.url}${path}`, init)
      await at('/counters/kill-d/increment', { method: 'POST', headers: json, body: '{"amount":7}' })
      await at('/counters/kill-t/increment', { method: 'POST' })
      const del = (await (await at('/counters/kill-d', { method: 'DELETE' })).json()) as { deleted: boolean }
      expect(del.deleted).toBe(true)
      await at('/counters/kill-t/ttl', { method: 'PUT', headers: json, body: '{"ttlMs":600000}' })
      await n.kill()
      await n.start()
      expect(await (await at('/counters/kill-d')).json()).toEqual({ name: 'kill-d', value: 0 })
      const t = (await (await at('/counters/kill-t')).json()) as { value: number; ttlMs: number }
      expect(t.value).toBe(1)
      expect(t.ttlMs).toBeGreaterThan(500_000)
      const list = (await (await at('/counters')).json()) as { counters: Array<{ name: string }> }
      expect(list.counters.map((c) => c.name)).toEqual(['kill-t'])
    } finally {
      await lone.stop()
    }
  }, 60_000)
})
