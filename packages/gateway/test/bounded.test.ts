// Bounded-counter routes through the gateway. Against small fake nodes: a
// 409 TALLY_BOUND_EXCEEDED is retried on the holder the refusal names, with
// the same Idempotency-Key, and only the final answer comes back. Against
// real tally-node processes: the routes end to end, and a keyed write whose
// first node applied it but reset the connection counts once.

import type { AddressInfo } from 'node:net'
import { Cleanup, http, until } from '@tally/kit/testing'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { rendezvous } from '../src/strategies.js'
import { type RealNode, startCluster } from './support/cluster.js'
import { gatewayFor } from './support/gateway.js'
import { startResetProxy } from './support/reset-proxy.js'

interface Seen {
  url: string
  key: string | undefined
  attempt: string | undefined
}

/** A node that refuses decrements naming `holder`, or grants them; always 200 on /health. */
class BoundedFake {
  readonly id: string
  readonly seen: Seen[] = []
  /** `grant`: 200; `refuse`: 409 naming `holder`; `fail`: 500. */
  mode: 'grant' | 'refuse' | 'fail' = 'grant'
  holder: string | undefined
  url = ''
  readonly #app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true })

  constructor(id: string) {
    this.id = id
  }

  async start(): Promise<this> {
    this.#app.get('/health', async () => ({
      id: this.id,
      replica: `${this.id}.1`,
      status: 'ok',
      peers: { live: 0, suspect: 0, dead: 0 },
      uptime: 1,
      load: { inflight: 0, eventLoopDelayMs: 0 },
    }))
    this.#app.post<{ Params: { name: string; op: string } }>('/bounded/:name/:op', async (req, reply) => {
      const h = req.headers
      this.seen.push({
        url: req.url,
        key: h['idempotency-key'] as string | undefined,
        attempt: h['tally-attempt'] as string | undefined,
      })
      if (this.mode === 'fail')
        return reply.code(500).send({ error: { code: 'TALLY_INTERNAL', message: 'x' } })
      if (this.mode === 'refuse') {
        const error: Record<string, unknown> = {
          code: 'TALLY_BOUND_EXCEEDED',
          message: `refused by ${this.id}`,
          localRights: 0,
          value: 5,
          requested: 1,
        }
        if (this.holder !== undefined) error.holder = this.holder
        return reply.code(409).send({ error })
      }
      return { name: req.params.name, value: 4 }
    })
    await this.#app.listen({ host: '127.0.0.1', port: 0 })
    this.url = `http://127.0.0.1:${(this.#app.server.address() as AddressInfo).port}`
    return this
  }

  close(): Promise<void> {
    return this.#app.close()
  }
}

describe('gateway bounded writes against fake nodes', () => {
  let fakes: BoundedFake[] = []
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    await Promise.all(fakes.map((f) => f.close()))
    fakes = []
    app = undefined
  })

  async function setUp(): Promise<[BoundedFake, BoundedFake, BoundedFake]> {
    fakes = await Promise.all(['f1', 'f2', 'f3'].map((id) => new BoundedFake(id).start()))
    app = await gatewayFor(fakes)
    return fakes as [BoundedFake, BoundedFake, BoundedFake]
  }

  const decrement = (key?: string) =>
    app!.inject({
      method: 'POST',
      url: '/bounded/stock/decrement',
      payload: { amount: 1 },
      headers: key === undefined ? {} : { 'idempotency-key': key },
    })

  it('a refusal naming a holder is retried there, with the same key; the holder’s answer is returned', async () => {
    const [a, b, c] = await setUp()
    for (const f of [a, b]) {
      f.mode = 'refuse'
      f.holder = 'f3'
    }
    // A client key picks the first node by rendezvous hashing: several keys, so some start on a refusing node.
    let chased = 0
    for (let i = 1; i <= 8; i++) {
      const before = a.seen.length + b.seen.length
      const res = await decrement(`k-${i}`)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ name: 'stock', value: 4, node: 'f3' })
      const refusals = a.seen.length + b.seen.length - before
      expect(refusals).toBeLessThanOrEqual(1)
      chased += refusals
      const last = c.seen[c.seen.length - 1]!
      expect(last.key).toBe(`k-${i}`)
      expect(Number(last.attempt)).toBe(1 + refusals)
    }
    expect(c.seen.length).toBe(8)
    expect(chased).toBeGreaterThan(0)
  })

  it('holders are followed, never twice to one node; the last refusal is the answer', async () => {
    const [a, b, c] = await setUp()
    a.mode = b.mode = c.mode = 'refuse'
    a.holder = 'f2'
    b.holder = 'f3'
    c.holder = 'f1'
    const res = await decrement()
    expect(res.statusCode).toBe(409)
    expect(res.json().error.code).toBe('TALLY_BOUND_EXCEEDED')
    expect(a.seen.length + b.seen.length + c.seen.length).toBe(3)
    const keys = new Set([...a.seen, ...b.seen, ...c.seen].map((s) => s.key))
    expect(keys.size).toBe(1)
  })

  it('a refusal naming no holder, or a holder that fails, is relayed as the node gave it', async () => {
    const [a, b, c] = await setUp()
    a.mode = b.mode = c.mode = 'refuse'
    const res = await decrement()
    expect(res.statusCode).toBe(409)
    expect(a.seen.length + b.seen.length + c.seen.length).toBe(1)
    for (const f of [a, b]) f.holder = 'f3'
    c.mode = 'fail'
    // f3 may be picked first (500 → failover to a refusing node), or reached as the holder.
    const again = await decrement()
    expect(again.statusCode).toBe(409)
    expect(again.json().error).toMatchObject({ code: 'TALLY_BOUND_EXCEEDED', holder: 'f3' })
  })

  it('bad input is refused at the gateway with the house shape', async () => {
    const [a, b, c] = await setUp()
    const bad = [
      { url: '/bounded/stock/decrement', payload: { amount: 0 }, code: 'TALLY_AMOUNT_INVALID' },
      { url: '/bounded/stock/decrement', payload: { amount: 1.5 }, code: 'TALLY_AMOUNT_INVALID' },
      { url: '/bounded/stock/increment', payload: { amount: 1, x: 1 }, code: 'TALLY_BAD_REQUEST' },
      { url: '/bounded/a%20b/increment', payload: { amount: 1 }, code: 'TALLY_NAME_INVALID' },
    ]
    for (const x of bad) {
      const res = await app!.inject({ method: 'POST', url: x.url, payload: x.payload })
      expect(res.statusCode, x.url).toBe(400)
      expect(res.json().error.code).toBe(x.code)
    }
    expect(a.seen.length + b.seen.length + c.seen.length).toBe(0)
  })
})

describe('gateway bounded writes with three real nodes', () => {
  let nodes: RealNode[] = []
  let stop: () => Promise<void> = async () => {}
  let app: FastifyInstance | undefined

  beforeAll(async () => {
    ;({ nodes, stop } = await startCluster(3, ['--bounded-transfer-timeout', '2000']))
  }, 120_000)
  afterAll(async () => {
    await app?.close()
    await stop()
  })

  it('stock placed on one node is sold through the gateway on every node, never below zero, and converges', async () => {
    app = await gatewayFor(nodes, { requestTimeoutMs: 5000, deadlineMs: 10_000 })
    // All the stock on one node: every other node must get rights moved to it.
    const put = await http(`${nodes[0]!.url}/bounded/tickets/increment`, 'POST', { amount: 40 })
    expect(put.status).toBe(200)
    const sells = await Promise.all(
      Array.from({ length: 60 }, () =>
        app!.inject({ method: 'POST', url: '/bounded/tickets/decrement', payload: { amount: 1 } }),
      ),
    )
    const ok = sells.filter((r) => r.statusCode === 200).length
    expect(sells.filter((r) => r.statusCode !== 200 && r.statusCode !== 409)).toEqual([])
    for (const r of sells) if (r.statusCode === 200) expect(r.json().value).toBeGreaterThanOrEqual(0)
    expect(ok).toBeLessThanOrEqual(40)
    expect(ok).toBeGreaterThanOrEqual(35)
    await until(
      async () => {
        const vs = await Promise.all(nodes.map((n) => http<{ value: number }>(`${n.url}/bounded/tickets`)))
        return vs.every((v) => v.body.value === 40 - ok)
      },
      { what: `every node at ${40 - ok}`, timeoutMs: 20_000 },
    )
    const read = await app.inject({ method: 'GET', url: '/bounded/tickets' })
    expect(read.json()).toMatchObject({ name: 'tickets', value: 40 - ok })
    expect(typeof read.json().node).toBe('string')
  }, 60_000)

  it('a keyed decrement applied by a node that then resets the connection is retried on another node and counts once', async () => {
    const local = new Cleanup()
    try {
      const [first, ...others] = nodes as [RealNode, RealNode, RealNode]
      const proxy = await startResetProxy(first.url)
      local.add(() => proxy.close())
      const gw = await gatewayFor([proxy, ...others], { requestTimeoutMs: 5000, deadlineMs: 15_000 })
      local.add(() => gw.close())
      // A key whose first choice (rendezvous hashing) is the node behind the proxy.
      const urls = [proxy.url, ...others.map((n) => n.url)].map((key) => ({ key, inflight: 0 }))
      const key = Array.from({ length: 64 }, (_, i) => `order-${i}`).find(
        (k) => rendezvous(urls, k)?.key === proxy.url,
      )!
      expect(key).toBeDefined()
      // All the stock on the first node: any other node must ask it for rights.
      expect((await http(`${first.url}/bounded/shelf/increment`, 'POST', { amount: 10 })).status).toBe(200)
      const shelfAt = async (n: RealNode) =>
        (await http<{ value: number }>(`${n.url}/bounded/shelf`)).body.value
      await until(async () => (await Promise.all(nodes.map(shelfAt))).every((v) => v === 10), {
        what: 'stock on every node',
        timeoutMs: 20_000,
      })
      const r = await gw.inject({
        method: 'POST',
        url: '/bounded/shelf/decrement',
        payload: { amount: 3 },
        headers: { 'idempotency-key': key },
      })
      // The first node applied it (its answer was lost), the retry on another node got the same answer.
      expect(proxy.resets).toEqual([{ path: '/bounded/shelf/decrement', status: 200 }])
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json()).toMatchObject({ name: 'shelf', value: 7 })
      const retried = others.find((n) => n.id === r.json().node)
      expect(retried).toBeDefined()
      expect(await shelfAt(retried!)).toBe(7)
      await until(async () => (await Promise.all(nodes.map(shelfAt))).every((v) => v === 7), {
        what: 'every node at 7',
        timeoutMs: 20_000,
      })
    } finally {
      await local.run()
    }
  }, 60_000)
})
