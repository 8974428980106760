// Consistency levels of deletes and TTL changes through the gateway: the
// level forwarded (the client's, else `all`), and, in front of three real
// tally-node processes that do not push writes eagerly (so a write stays on
// the node that took it until an anti-entropy round, seconds later), a
// DELETE or RESP DEL through the gateway right after a write on a node the
// gateway does not even know removes that write.
// Needs the build (packages/node/dist/tally-node.js).

import type { RespListener } from '@tally/kit/resp'
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIFECYCLE_DEFAULT_CONSISTENCY } from '../src/lifecycle-forward.js'
import { type RealNode, startCluster } from './support/cluster.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, respFor } from './support/gateway.js'

const json = { 'content-type': 'application/json' }

describe('the level forwarded', () => {
  let fakes: FakeNode[] = []
  let app: FastifyInstance
  beforeAll(async () => {
    fakes = await startFakes(1)
    app = await gatewayFor(fakes)
  })
  afterAll(async () => {
    await app?.close()
    await Promise.all(fakes.map((f) => f.close()))
  })

  it.each([
    ['DELETE', '/counters/a', '/counters/a?consistency=all', undefined],
    ['DELETE', '/counters/a?consistency=one', '/counters/a?consistency=one', undefined],
    ['PUT', '/counters/a/ttl?consistency=quorum', '/counters/a/ttl?consistency=quorum', { ttlMs: 5 }],
    ['PUT', '/counters/a/ttl', '/counters/a/ttl?consistency=all', { ttlMs: 5 }],
    ['DELETE', '/counters/a/ttl?consistency=all', '/counters/a/ttl?consistency=all', undefined],
  ] as const)('%s %s reaches the node as %s', async (method, url, forwarded, payload) => {
    const fake = fakes[0] as FakeNode
    fake.seen.length = 0
    await app.inject({ method, url, ...(payload === undefined ? {} : { headers: json, payload }) })
    expect(fake.seen.map((s) => `${s.method} ${s.url}`)).toContain(`${method} ${forwarded}`)
  })

  it.each([
    ['DELETE', '/counters/a?consistency=most'],
    ['DELETE', '/counters/a?consistency=ALL'],
    ['DELETE', '/counters/a/ttl?consistency='],
    ['PUT', '/counters/a/ttl?consistency=2'],
  ] as const)('%s %s is a 400 TALLY_CONSISTENCY_INVALID that reaches no node', async (method, url) => {
    const fake = fakes[0] as FakeNode
    fake.seen.length = 0
    const res = await app.inject({
      method,
      url,
      headers: json,
      payload: method === 'PUT' ? { ttlMs: 5 } : {},
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_CONSISTENCY_INVALID')
    expect(fake.seen.filter((s) => s.url.startsWith('/counters'))).toEqual([])
  })

  it('the default is all', () => {
    expect(LIFECYCLE_DEFAULT_CONSISTENCY).toBe('all')
  })
})

describe('a delete through the gateway right after a write elsewhere', () => {
  let nodes: RealNode[] = []
  let stop: () => Promise<void> = async () => {}
  let app: FastifyInstance
  let resp: RespListener

  beforeAll(async () => {
    // No eager push and a round every ~2 s: a write stays on its node for a while.
    ;({ nodes, stop } = await startCluster(3, [
      ...['--eager-push', 'false', '--gossip-interval', '2000', '--resp-port', 'any'],
    ]))
    // The gateway knows n2 and n3 only: every delete lands on a node that did not take the write.
    app = await gatewayFor(nodes.slice(1), { requestTimeoutMs: 3000, deadlineMs: 10_000 })
    resp = await respFor(app)
  }, 120_000)
  afterAll(async () => {
    await resp?.close()
    await app?.close()
    await stop()
  })

  const n1 = () => nodes[0] as RealNode
  const valueOn = async (n: RealNode, name: string) =>
    ((await (await fetch(`${n.url}/counters/${name}`)).json()) as { value: number }).value
  const everywhere = (name: string, v: number) =>
    until(async () => (await Promise.all(nodes.map((n) => valueOn(n, name)))).every((x) => x === v), {
      what: `${name} at ${v} on every node`,
      timeoutMs: 10_000,
    })

  it('HTTP: DELETE removes it on every node', async () => {
    const w = await fetch(`${n1().url}/counters/gw-c/increment`, {
      method: 'POST',
      headers: json,
      body: '{"amount":6}',
    })
    expect(await w.json()).toEqual({ name: 'gw-c', value: 6 })
    const del = await app.inject({ method: 'DELETE', url: '/counters/gw-c' })
    expect(del.statusCode).toBe(200)
    expect(del.json()).toMatchObject({ name: 'gw-c', deleted: true, value: 0 })
    expect(del.json().node).not.toBe('n1')
    await everywhere('gw-c', 0)
  })

  it('HTTP: PUT /ttl sets a TTL on a counter the serving node had not got yet', async () => {
    await fetch(`${n1().url}/counters/gw-t/increment`, { method: 'POST' })
    const put = await app.inject({
      method: 'PUT',
      url: '/counters/gw-t/ttl',
      headers: json,
      payload: { ttlMs: 600_000 },
    })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toMatchObject({ name: 'gw-t', ttlMs: 600_000, changed: true })
  })

  it('RESP (ioredis): DEL and TALLY.DEL through the gateway right after INCRBY on another node', async () => {
    const node = new Redis({ port: n1().proc?.resp ?? 0, host: '127.0.0.1', lazyConnect: true })
    const gw = new Redis({ port: resp.port, host: '127.0.0.1', lazyConnect: true })
    await Promise.all([node.connect(), gw.connect()])
    try {
      expect(await node.incrby('gw-r', 4)).toBe(4)
      expect(await gw.del('gw-r')).toBe(1)
      expect(await gw.get('gw-r')).toBeNull()
      await everywhere('gw-r', 0)
      // TALLY.DEL with a KEY: a retry after a later write answers the same and deletes nothing more.
      expect(await node.incrby('gw-r3', 1)).toBe(1)
      expect(await gw.call('TALLY.DEL', 'gw-r3', 'KEY', 'gw-r3-del', 'CONSISTENCY', 'all')).toBe(1)
      expect(await node.incrby('gw-r3', 5)).toBe(5)
      expect(await gw.call('TALLY.DEL', 'gw-r3', 'KEY', 'gw-r3-del')).toBe(1)
      await everywhere('gw-r3', 5)
      await expect(gw.call('TALLY.DEL', 'gw-r3', 'CONSISTENCY', 'most')).rejects.toThrow(
        /TALLY_CONSISTENCY_INVALID/,
      )
      expect(await node.incrby('gw-r2', 2)).toBe(2)
      expect(await gw.expire('gw-r2', 600)).toBe(1)
      expect(await gw.persist('gw-r2')).toBe(1)
    } finally {
      node.disconnect()
      gw.disconnect()
    }
  })
})

describe('a delete at the default level while a member is down', () => {
  let nodes: RealNode[] = []
  let stop: () => Promise<void> = async () => {}
  let app: FastifyInstance
  let resp: RespListener

  beforeAll(async () => {
    ;({ nodes, stop } = await startCluster(3, ['--resp-port', 'any']))
    app = await gatewayFor(nodes, { requestTimeoutMs: 3000, deadlineMs: 10_000 })
    resp = await respFor(app)
    await (nodes[2] as RealNode).kill()
    // Both survivors hold n3 dead (no LEAVE was sent: it was killed).
    await until(
      async () => {
        const h = await Promise.all(
          nodes.slice(0, 2).map(async (n) => (await (await fetch(`${n.url}/health`)).json()) as HealthBody),
        )
        return h.every((b) => b.peers.dead === 1)
      },
      { what: 'n3 dead on n1 and n2', timeoutMs: 30_000 },
    )
  }, 120_000)
  afterAll(async () => {
    await resp?.close()
    await app?.close()
    await stop()
  })

  type HealthBody = { peers: { dead: number } }

  it('HTTP: 503 TALLY_QUORUM_UNAVAILABLE naming the down member and ?consistency=quorum; quorum deletes', async () => {
    const n1 = nodes[0] as RealNode
    await fetch(`${n1.url}/counters/gw-down/increment`, {
      method: 'POST',
      headers: json,
      body: '{"amount":3}',
    })
    const del = await app.inject({ method: 'DELETE', url: '/counters/gw-down' })
    expect(del.statusCode).toBe(503)
    expect(del.json().error.code).toBe('TALLY_QUORUM_UNAVAILABLE')
    expect(del.json().error.message).toMatch(/down: n3/)
    expect(del.json().error.message).toMatch(/\?consistency=quorum/)
    expect(await (await fetch(`${n1.url}/counters/gw-down`)).json()).toMatchObject({ value: 3 })
    const q = await app.inject({ method: 'DELETE', url: '/counters/gw-down?consistency=quorum' })
    expect(q.statusCode).toBe(200)
    expect(q.json()).toMatchObject({ name: 'gw-down', deleted: true, value: 0 })
  })

  it('RESP (ioredis): DEL answers the same error; TALLY.DEL … CONSISTENCY quorum deletes', async () => {
    const gw = new Redis({ port: resp.port, host: '127.0.0.1', lazyConnect: true })
    await gw.connect()
    try {
      expect(await gw.incrby('gw-down-r', 2)).toBe(2)
      await expect(gw.del('gw-down-r')).rejects.toThrow(/TALLY_QUORUM_UNAVAILABLE.*down: n3/)
      expect(await gw.call('TALLY.DEL', 'gw-down-r', 'CONSISTENCY', 'quorum')).toBe(1)
    } finally {
      gw.disconnect()
    }
  })
})
