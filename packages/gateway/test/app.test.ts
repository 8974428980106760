import type { AddressInfo } from 'node:net'
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { Client } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor } from './support/gateway.js'

let fakes: FakeNode[]
let app: FastifyInstance

beforeAll(async () => {
  fakes = await startFakes(3)
  app = await gatewayFor(fakes)
})
afterAll(async () => {
  await app?.close()
  await Promise.all(fakes.map((f) => f.close()))
})
afterEach(() => {
  for (const f of fakes) f.answerNormally()
})

const ids = () => fakes.map((f) => f.id)
const total = (name: string) => fakes.reduce((s, f) => s + f.map.value(name), 0)

describe('counter routes', () => {
  it('POST /increment and /decrement forward to a node and name it', async () => {
    const before = total('default')
    const r = await app.inject({ method: 'POST', url: '/increment', payload: { amount: 5 } })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(ids()).toContain(body.node)
    expect(body.name).toBe('default')
    expect(r.headers['x-tally-node']).toBe(body.node)
    const d = await app.inject({ method: 'POST', url: '/decrement', payload: { amount: 2 } })
    expect(d.statusCode).toBe(200)
    expect(total('default')).toBe(before + 3)
  })

  it('POST without a body (or an empty JSON body) counts 1', async () => {
    const before = total('default')
    expect((await app.inject({ method: 'POST', url: '/increment' })).statusCode).toBe(200)
    const r = await app.inject({
      method: 'POST',
      url: '/increment',
      headers: { 'content-type': 'application/json' },
      payload: '',
    })
    expect(r.statusCode).toBe(200)
    expect(total('default')).toBe(before + 2)
  })

  it('named counters: increment, decrement, read', async () => {
    const r = await app.inject({ method: 'POST', url: '/counters/page.a/increment', payload: { amount: 7 } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ name: 'page.a', value: 7 })
    const served = r.json().node
    const dec = await app.inject({
      method: 'POST',
      url: '/counters/page.a/decrement',
      payload: { amount: 1 },
    })
    expect(dec.statusCode).toBe(200)
    const g = await app.inject({ method: 'GET', url: '/counters/page.a' })
    expect(g.statusCode).toBe(200)
    expect(g.json()).toMatchObject({ name: 'page.a' })
    expect(ids()).toContain(g.json().node)
    expect(served).toBeTypeOf('string')
  })

  it('names with Redis key shapes travel percent-encoded, to the node and back', async () => {
    for (const name of ['rl:{t}/login', 'views@2026-12-01', 'page|home', 'q?a#b%c']) {
      const seg = encodeURIComponent(name)
      const r = await app.inject({
        method: 'POST',
        url: `/counters/${seg}/increment`,
        payload: { amount: 2 },
      })
      expect(r.statusCode, name).toBe(200)
      expect(r.json()).toMatchObject({ name, value: 2 })
      const w = fakes.flatMap((f) => f.writes()).find((x) => x.url.startsWith(`/counters/${seg}/`))
      expect(w?.url).toBe(`/counters/${seg}/increment`)
      const g = await app.inject({ method: 'GET', url: `/counters/${seg}` })
      expect(g.statusCode).toBe(200)
      expect(g.json()).toMatchObject({ name })
    }
  })

  it('GET /counter and GET /counters relay the node answer plus node', async () => {
    const c = await app.inject({ method: 'GET', url: '/counter' })
    expect(c.statusCode).toBe(200)
    expect(c.json()).toMatchObject({ name: 'default' })
    const all = await app.inject({ method: 'GET', url: '/counters' })
    expect(all.statusCode).toBe(200)
    expect(Array.isArray(all.json().counters)).toBe(true)
    expect(ids()).toContain(all.json().node)
  })

  it('forwards a valid Idempotency-Key unchanged and generates one otherwise', async () => {
    await app.inject({
      method: 'POST',
      url: '/counters/k/increment',
      headers: { 'idempotency-key': 'abc-123' },
    })
    await app.inject({ method: 'POST', url: '/counters/k/increment' })
    const writes = fakes.flatMap((f) => f.writes()).filter((w) => w.url.startsWith('/counters/k/'))
    expect(writes.map((w) => w.idempotencyKey)).toContain('abc-123')
    const generated = writes.find((w) => w.idempotencyKey !== 'abc-123')?.idempotencyKey
    expect(generated).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('passes ?consistency= through on writes', async () => {
    await app.inject({ method: 'POST', url: '/counters/q/increment?consistency=quorum' })
    const w = fakes.flatMap((f) => f.writes()).find((x) => x.url.startsWith('/counters/q/'))
    expect(w?.url).toBe('/counters/q/increment?consistency=quorum')
  })

  it('relays a node 4xx unchanged and does not retry it', async () => {
    fakes.forEach((f) => {
      f.writeAnswer = { status: 409, body: { error: { code: 'TALLY_IDEMPOTENCY_MISMATCH', message: 'no' } } }
    })
    const before = fakes.reduce((s, f) => s + f.writes().length, 0)
    const r = await app.inject({ method: 'POST', url: '/counters/m/increment' })
    expect(r.statusCode).toBe(409)
    expect(r.json()).toEqual({ error: { code: 'TALLY_IDEMPOTENCY_MISMATCH', message: 'no' } })
    expect(fakes.reduce((s, f) => s + f.writes().length, 0)).toBe(before + 1)
  })

  it('relays a 504 TALLY_QUORUM_TIMEOUT as-is without trying another node', async () => {
    const body = {
      error: { code: 'TALLY_QUORUM_TIMEOUT', message: 'only 1 of 2 confirmed' },
      confirmed: 1,
      required: 2,
    }
    fakes.forEach((f) => {
      f.writeAnswer = { status: 504, body }
    })
    const before = fakes.reduce((s, f) => s + f.writes().length, 0)
    const r = await app.inject({ method: 'POST', url: '/counters/qt/increment?consistency=quorum' })
    expect(r.statusCode).toBe(504)
    expect(r.json()).toEqual(body)
    expect(fakes.reduce((s, f) => s + f.writes().length, 0)).toBe(before + 1)
    expect(total('qt')).toBe(1)
  })
})

describe('router-level refusals use the error body too', () => {
  it('a 300-character name is TALLY_NAME_INVALID; past the router limit and malformed URLs are TALLY_BAD_REQUEST', async () => {
    const long = await app.inject({ method: 'GET', url: `/counters/${'a'.repeat(300)}` })
    expect(long.statusCode).toBe(400)
    expect(long.json().error.code).toBe('TALLY_NAME_INVALID')
    const huge = await app.inject({ method: 'GET', url: `/counters/${'a'.repeat(2000)}` })
    expect(huge.statusCode).toBe(414)
    expect(huge.json().error.code).toBe('TALLY_BAD_REQUEST')
    const badUrl = await app.inject({ method: 'GET', url: '/counters/%E0%A4%A' })
    expect(badUrl.statusCode).toBe(400)
    expect(badUrl.json().error.code).toBe('TALLY_BAD_REQUEST')
  })
})

describe('quorum writes', () => {
  it("wait for the node's quorum timeout on top of the request timeout, so its 504 is relayed", async () => {
    const slow = await startFakes(2)
    const body = {
      error: { code: 'TALLY_QUORUM_TIMEOUT', message: 'only 1 of 2 confirmed' },
      confirmed: 1,
      required: 2,
    }
    for (const f of slow) {
      f.writeAnswer = { status: 504, body }
      f.writeDelayMs = 1000 // the node waits (most of) its quorum timeout before answering
    }
    // The node's answer (1 s) falls between the plain budget (300 ms) and the
    // quorum budget (300 ms + 2 s), with wide margins on both sides: a loaded
    // runner may delay a timer by hundreds of ms.
    const gw = await gatewayFor(slow, { requestTimeoutMs: 300, deadlineMs: 3000, quorumTimeoutMs: 2000 })
    try {
      const r = await gw.inject({ method: 'POST', url: '/counters/qw/increment?consistency=quorum' })
      expect(r.statusCode).toBe(504)
      expect(r.json()).toEqual(body)
      // One attempt only: the write landed once, and no other node was asked.
      expect(slow.reduce((s, f) => s + f.writes().length, 0)).toBe(1)
      // A plain write keeps the plain request timeout: the gateway gives up on the
      // first node after 300 ms (not the 1 s it takes) and asks another with the same key.
      await gw.inject({ method: 'POST', url: '/counters/qw/increment' })
      const plain = slow.flatMap((f) => f.writes()).filter((w) => w.url === '/counters/qw/increment')
      expect(plain.length).toBeGreaterThanOrEqual(2)
      expect(new Set(plain.map((w) => w.idempotencyKey)).size).toBe(1)
    } finally {
      await gw.close()
      await Promise.all(slow.map((f) => f.close()))
    }
  })
})

describe('bad input never reaches a node', () => {
  const cases: Array<[string, string, string, unknown, Record<string, string>?]> = [
    ['amount 0', 'POST', '/increment', { amount: 0 }],
    ['amount negative', 'POST', '/decrement', { amount: -1 }],
    ['amount fraction', 'POST', '/increment', { amount: 1.5 }],
    ['amount string', 'POST', '/increment', { amount: '5' }],
    ['amount unsafe', 'POST', '/counters/a/increment', { amount: 2 ** 53 }],
    ['amount null', 'POST', '/counters/a/decrement', { amount: null }],
  ]
  it.each(cases)('%s → 400 TALLY_AMOUNT_INVALID', async (_t, method, url, payload) => {
    const before = fakes.reduce((s, f) => s + f.writes().length, 0)
    const r = await app.inject({ method: method as 'POST', url, payload: payload as object })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('TALLY_AMOUNT_INVALID')
    expect(fakes.reduce((s, f) => s + f.writes().length, 0)).toBe(before)
  })

  const badNames = ['has space', 'a\tb', 'x'.repeat(129), '__proto__', 'é', '\u0000']
  it.each(badNames)('name %j → 400 TALLY_NAME_INVALID', async (name) => {
    for (const url of [
      `/counters/${encodeURIComponent(name)}`,
      `/counters/${encodeURIComponent(name)}/increment`,
      `/counters/${encodeURIComponent(name)}/decrement`,
    ]) {
      const r = await app.inject({ method: url.endsWith('crement') ? 'POST' : 'GET', url })
      expect(r.statusCode, url).toBe(400)
      expect(r.json().error.code).toBe('TALLY_NAME_INVALID')
    }
  })

  it('unknown body field → 400 TALLY_BAD_REQUEST', async () => {
    const r = await app.inject({ method: 'POST', url: '/increment', payload: { amount: 1, extra: true } })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it.each(['[1]', '"x"', '7', 'null', '{bad json'])('body %s → 400 TALLY_BAD_REQUEST', async (payload) => {
    const r = await app.inject({
      method: 'POST',
      url: '/increment',
      headers: { 'content-type': 'application/json' },
      payload,
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('non-JSON body → 415, oversized body → 413', async () => {
    const t = await app.inject({
      method: 'POST',
      url: '/increment',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    })
    expect(t.statusCode).toBe(415)
    expect(t.json().error.code).toBe('TALLY_UNSUPPORTED_MEDIA_TYPE')
    const big = await app.inject({
      method: 'POST',
      url: '/increment',
      payload: { amount: 1, pad: 'x'.repeat(10_000) },
    })
    expect(big.statusCode).toBe(413)
    expect(big.json().error.code).toBe('TALLY_BODY_TOO_LARGE')
  })

  it.each([
    ['', 'empty'],
    [' lead', 'leading space'],
    ['x'.repeat(129), 'too long'],
    ['tab\there', 'control char'],
  ])('Idempotency-Key %j (%s) → 400 TALLY_IDEMPOTENCY_KEY_INVALID', async (key) => {
    const r = await app.inject({ method: 'POST', url: '/increment', headers: { 'idempotency-key': key } })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('TALLY_IDEMPOTENCY_KEY_INVALID')
  })

  it.each([
    '/counter?consistency=most',
    '/counters/a?consistency=',
    '/counters?consistency=ALL',
    '/items/t/count?consistency=2',
  ])('%s → 400 TALLY_CONSISTENCY_INVALID', async (url) => {
    const r = await app.inject({ method: 'GET', url })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('TALLY_CONSISTENCY_INVALID')
  })

  it('consistency on writes is validated too; unknown query params are refused', async () => {
    const w = await app.inject({ method: 'POST', url: '/increment?consistency=some' })
    expect(w.json().error.code).toBe('TALLY_CONSISTENCY_INVALID')
    const q = await app.inject({ method: 'GET', url: '/counter?foo=1' })
    expect(q.statusCode).toBe(400)
    expect(q.json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('unknown route → 404 TALLY_NOT_FOUND', async () => {
    const r = await app.inject({ method: 'GET', url: '/nope' })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.code).toBe('TALLY_NOT_FOUND')
  })
})

describe('items', () => {
  it('POST /items counts into items:<tenant> and returns the new total', async () => {
    const a = await app.inject({ method: 'POST', url: '/items', payload: { tenant: 't1' } })
    expect(a.statusCode).toBe(200)
    expect(a.json()).toMatchObject({ tenant: 't1', count: expect.any(Number) })
    const b = await app.inject({ method: 'POST', url: '/items', payload: { tenant: 't1', count: 4 } })
    expect(b.statusCode).toBe(200)
    expect(total('items:t1')).toBe(5)
    const w = fakes.flatMap((f) => f.writes()).filter((x) => x.url === '/counters/items%3At1/increment')
    expect(w.map((x) => x.body)).toEqual(expect.arrayContaining([{ amount: 1 }, { amount: 4 }]))
  })

  it('GET /items/:tenant/count reads the counter (quorum read merges every replica)', async () => {
    const r = await app.inject({ method: 'GET', url: '/items/t1/count?consistency=all' })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ tenant: 't1', count: 5, consistency: 'all' })
    const one = await app.inject({ method: 'GET', url: '/items/t1/count' })
    expect(one.statusCode).toBe(200)
    expect(one.json().tenant).toBe('t1')
  })

  it('a tenant holding / ? # % reaches its own counter, not another node route', async () => {
    const tenant = 'acme/eu?x=1#top%25'
    const w = await app.inject({ method: 'POST', url: '/items', payload: { tenant, count: 3 } })
    expect(w.statusCode, w.body).toBe(200)
    expect(total(`items:${tenant}`)).toBe(3)
    const r = await app.inject({
      method: 'GET',
      url: `/items/${encodeURIComponent(tenant)}/count?consistency=all`,
    })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ tenant, count: 3 })
    const one = await app.inject({ method: 'GET', url: `/items/${encodeURIComponent(tenant)}/count` })
    expect(one.statusCode, one.body).toBe(200)
    expect(one.json().tenant).toBe(tenant)
  })

  it.each([
    [{ tenant: '' }, 'TALLY_TENANT_INVALID'],
    [{}, 'TALLY_TENANT_INVALID'],
    [{ tenant: 'x'.repeat(123) }, 'TALLY_TENANT_INVALID'],
    [{ tenant: 'a b' }, 'TALLY_TENANT_INVALID'],
    [{ tenant: 5 }, 'TALLY_TENANT_INVALID'],
    [{ tenant: 't', count: 0 }, 'TALLY_AMOUNT_INVALID'],
    [{ tenant: 't', count: 1.5 }, 'TALLY_AMOUNT_INVALID'],
    [{ tenant: 't', count: '1' }, 'TALLY_AMOUNT_INVALID'],
    [{ tenant: 't', extra: 1 }, 'TALLY_BAD_REQUEST'],
  ])('POST /items %j → 400 %s', async (payload, code) => {
    const r = await app.inject({ method: 'POST', url: '/items', payload })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe(code)
  })

  it('a 122-character tenant is accepted, GET with a bad tenant is refused', async () => {
    const ok = await app.inject({ method: 'POST', url: '/items', payload: { tenant: 'x'.repeat(122) } })
    expect(ok.statusCode).toBe(200)
    const bad = await app.inject({ method: 'GET', url: `/items/${'x'.repeat(123)}/count` })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.code).toBe('TALLY_TENANT_INVALID')
  })
})

describe('consistency reads', () => {
  it('quorum merges states from ⌊N/2⌋+1 nodes and names them', async () => {
    // Each fake holds only its own writes (no gossip), so merging shows in the value.
    fakes[0]!.map.increment('merge-me', 1)
    fakes[1]!.map.increment('merge-me', 10)
    fakes[2]!.map.increment('merge-me', 100)
    const all = await app.inject({ method: 'GET', url: '/counters/merge-me?consistency=all' })
    expect(all.statusCode).toBe(200)
    expect(all.json()).toMatchObject({ name: 'merge-me', value: 111, consistency: 'all' })
    expect([...all.json().replicas].sort()).toEqual(['n1', 'n2', 'n3'])
    const q = await app.inject({ method: 'GET', url: '/counters/merge-me?consistency=quorum' })
    expect(q.statusCode).toBe(200)
    expect(q.json().replicas).toHaveLength(2)
    expect([11, 101, 110]).toContain(q.json().value)
    const one = await app.inject({ method: 'GET', url: '/counters/merge-me?consistency=one' })
    expect(one.json().replicas).toHaveLength(1)
    const c = await app.inject({ method: 'GET', url: '/counter?consistency=one' })
    expect(c.json()).toMatchObject({ name: 'default', consistency: 'one' })
    const list = await app.inject({ method: 'GET', url: '/counters?consistency=all' })
    expect(list.json().counters).toEqual(expect.arrayContaining([{ name: 'merge-me', value: 111 }]))
  })

  it('all with a failing node → 503 TALLY_QUORUM_UNAVAILABLE saying how many answered', async () => {
    fakes[2]!.mode = 'error'
    const r = await app.inject({ method: 'GET', url: '/counters/merge-me?consistency=all' })
    expect(r.statusCode).toBe(503)
    expect(r.json().error.code).toBe('TALLY_QUORUM_UNAVAILABLE')
    expect(r.json().error.message).toMatch(/3 replica\(s\) required, 2 answered/)
    // A quorum (2 of 3) still works with one node failing.
    const q = await app.inject({ method: 'GET', url: '/counters/merge-me?consistency=quorum' })
    expect(q.statusCode).toBe(200)
    expect(q.json().value).toBe(11)
  })
})

describe('GET /nodes and GET /health', () => {
  it('lists every node with id, address, health, load, last check and value', async () => {
    const r = await app.inject({ method: 'GET', url: '/nodes' })
    expect(r.statusCode).toBe(200)
    const nodes = r.json().nodes
    expect(nodes).toHaveLength(3)
    for (const n of nodes) {
      expect(ids()).toContain(n.id)
      expect(n.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(['healthy', 'ejected', 'unknown']).toContain(n.health)
      expect(n.load).toMatchObject({ gatewayInflight: expect.any(Number) })
      expect(Number.isNaN(Date.parse(n.lastCheck))).toBe(false)
      expect(typeof n.value === 'number' || n.value === null).toBe(true)
    }
  })

  it('GET /health is 200 while a node is usable', async () => {
    const r = await app.inject({ method: 'GET', url: '/health' })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ status: 'ok', known: 3 })
  })
})

describe('dashboard', () => {
  it('GET / serves a self-contained page that polls /dashboard/state', async () => {
    const r = await app.inject({ method: 'GET', url: '/' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/html/)
    expect(r.headers['content-security-policy']).toContain("default-src 'self'")
    expect(r.body).toContain('fetch("/dashboard/state"')
    expect(r.body).not.toMatch(/innerHTML/)
  })
})

describe('closing', () => {
  it('a request arriving while the gateway closes gets 503 TALLY_SHUTTING_DOWN', async () => {
    const gw = await gatewayFor(fakes, { requestTimeoutMs: 300, deadlineMs: 1000 })
    await gw.listen({ host: '127.0.0.1', port: 0 })
    const port = (gw.server.address() as AddressInfo).port
    // Two requests pipelined on one keep-alive connection: the first is stuck on hanging nodes
    // while close() starts; the second is read only after that, during the drain.
    const client = new Client(`http://127.0.0.1:${port}`, { pipelining: 2 })
    for (const f of fakes) f.mode = 'hang'
    try {
      const before = fakes.map((f) => f.seen.length)
      const first = client.request({ method: 'GET', path: '/counter' })
      const second = client.request({ method: 'GET', path: '/counters' })
      // The first is stuck once a (hanging) node has received it.
      await until(
        () => fakes.some((f, i) => f.seen.slice(before[i]).some((s) => !s.url.startsWith('/health'))),
        { what: 'the first request to reach a node' },
      )
      const closed = gw.close()
      const a = await first
      // The first was taken before the drain: it runs its course (every node timed out → 503 TALLY_NO_NODES).
      const aBody = await a.body.text()
      expect(a.statusCode, aBody).toBe(503)
      expect(aBody).toContain('TALLY_NO_NODES')
      const b = await second
      expect(b.statusCode).toBe(503)
      expect(((await b.body.json()) as { error: { code: string } }).error.code).toBe('TALLY_SHUTTING_DOWN')
      await closed
    } finally {
      for (const f of fakes) f.mode = 'ok'
      await client.close()
    }
  })
})
