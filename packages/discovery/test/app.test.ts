import { until } from '@tally/kit/testing'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { checkHttpUrl, isValidNodeId, parseHostPort } from '../src/validate.js'

function fakeClock(start = 1_700_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const TOKEN = 'correct-horse-battery'
const apps: FastifyInstance[] = []
async function make(opts: Partial<Parameters<typeof buildApp>[0]> = {}) {
  const clock = fakeClock()
  const app = await buildApp({ ttlMs: 3000, clock, sweepIntervalMs: 0, ...opts })
  apps.push(app)
  return { app, clock }
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

const node = (id: string, n = 1) => ({
  id,
  addr: `127.0.0.1:${9000 + n}`,
  http: `http://127.0.0.1:${8010 + n}`,
})

async function register(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/register', payload: body as object, headers })
}

describe('discovery HTTP API', () => {
  it('register returns the current list; GET /peers is sorted by id with ISO lastSeen', async () => {
    const { app, clock } = await make()
    let res = await register(app, node('n2', 2))
    expect(res.statusCode).toBe(200)
    expect(res.json().peers.map((p: { id: string }) => p.id)).toEqual(['n2'])
    res = await register(app, node('n1', 1))
    expect(res.json().peers.map((p: { id: string }) => p.id)).toEqual(['n1', 'n2'])
    expect(res.json().version).toBe(app.registry.version)
    res = await app.inject({ method: 'GET', url: '/peers' })
    expect(res.json()).toEqual([
      { ...node('n1', 1), lastSeen: new Date(clock.now()).toISOString(), status: 'alive' },
      { ...node('n2', 2), lastSeen: new Date(clock.now()).toISOString(), status: 'alive' },
    ])
  })

  it('heartbeat keeps an entry alive; without it the entry expires after ttl', async () => {
    const { app, clock } = await make()
    await register(app, node('a'))
    await register(app, node('b', 2))
    for (let i = 0; i < 5; i++) {
      clock.advance(2000)
      const hb = await app.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'a' } })
      expect(hb.statusCode).toBe(200)
    }
    const res = await app.inject({ method: 'GET', url: '/peers' })
    expect(res.json().map((p: { id: string }) => p.id)).toEqual(['a'])
    const hb = await app.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'b' } })
    expect(hb.statusCode).toBe(404)
    expect(hb.json().error.code).toBe('TALLY_UNKNOWN_NODE')
  })

  it('the sweep timer removes expired entries from the table', async () => {
    const app = await buildApp({ ttlMs: 100, sweepIntervalMs: 20 })
    apps.push(app)
    await register(app, node('a'))
    expect(app.registry.size).toBe(1)
    await until(() => app.registry.size === 0, {
      what: 'the sweep to empty the table',
      timeoutMs: 5000,
    }).catch(() => {})
    expect(app.registry.size).toBe(0)
  })

  it('heartbeat for an unknown id is 404 TALLY_UNKNOWN_NODE (a restarted registry)', async () => {
    const { app } = await make()
    await register(app, node('a'))
    const restarted = (await make()).app
    const res = await restarted.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'a' } })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({
      error: { code: 'TALLY_UNKNOWN_NODE', message: expect.stringContaining('"a"') },
    })
    expect((await register(restarted, node('a'))).statusCode).toBe(200)
    expect(
      (await restarted.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'a' } })).statusCode,
    ).toBe(200)
  })

  it('re-registering updates the entry', async () => {
    const { app } = await make()
    await register(app, node('a', 1))
    await register(app, node('a', 5))
    const peers = (await app.inject({ method: 'GET', url: '/peers' })).json()
    expect(peers).toHaveLength(1)
    expect(peers[0]).toMatchObject(node('a', 5))
  })

  it('DELETE /peers/:id deregisters at once; unknown id is 404', async () => {
    const { app } = await make()
    await register(app, node('a'))
    let res = await app.inject({ method: 'DELETE', url: '/peers/a' })
    expect(res.statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/peers' })).json()).toEqual([])
    res = await app.inject({ method: 'DELETE', url: '/peers/a' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('TALLY_UNKNOWN_NODE')
    res = await app.inject({ method: 'DELETE', url: '/peers/bad%20id' })
    expect(res.statusCode).toBe(400)
  })

  it('GET /health reports ok and the live count', async () => {
    const { app } = await make()
    await register(app, node('a'))
    const res = await app.inject({ method: 'GET', url: '/health' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'ok', peers: 1, ttlMs: 3000 })
  })

  it('caps the table: a new id on a full table is 507 TALLY_TABLE_FULL and changes nothing', async () => {
    const { app } = await make({ maxPeers: 2 })
    await register(app, node('a'))
    await register(app, node('b'))
    const res = await register(app, node('c'))
    expect(res.statusCode).toBe(507)
    expect(res.json().error.code).toBe('TALLY_TABLE_FULL')
    expect(app.registry.size).toBe(2)
  })

  it('unknown routes get the error body', async () => {
    const { app } = await make()
    const res = await app.inject({ method: 'GET', url: '/nope' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('TALLY_NOT_FOUND')
  })
})

describe('bearer token', () => {
  const auth = { authorization: `Bearer ${TOKEN}` }

  it('mutating calls need the token; reads do not', async () => {
    const { app } = await make({ token: TOKEN })
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: TOKEN },
      { authorization: `bearer ${TOKEN}x` },
    ]) {
      const res = await register(app, node('a'), headers)
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('TALLY_UNAUTHORIZED')
    }
    expect(app.registry.size).toBe(0)
    expect((await register(app, node('a'), auth)).statusCode).toBe(200)
    expect((await app.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'a' } })).statusCode).toBe(
      401,
    )
    expect(
      (await app.inject({ method: 'POST', url: '/heartbeat', payload: { id: 'a' }, headers: auth }))
        .statusCode,
    ).toBe(200)
    expect((await app.inject({ method: 'DELETE', url: '/peers/a' })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/peers' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'DELETE', url: '/peers/a', headers: auth })).statusCode).toBe(204)
  })

  it('checks the token before reading the body', async () => {
    const { app } = await make({ token: TOKEN })
    const res = await app.inject({
      method: 'POST',
      url: '/register',
      payload: '{garbage',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(401)
  })
})

describe('bad input: 4xx with a clear message, nothing changes', () => {
  const good = node('a')
  const cases: Array<[string, unknown, string]> = [
    ['missing id', { addr: good.addr, http: good.http }, 'id'],
    ['missing addr', { id: 'a', http: good.http }, 'addr'],
    ['missing http', { id: 'a', addr: good.addr }, 'http'],
    ['id wrong type', { ...good, id: 5 }, 'id'],
    ['id bad chars', { ...good, id: 'a b' }, 'id'],
    ['id too long', { ...good, id: 'x'.repeat(129) }, 'id'],
    ['id empty', { ...good, id: '' }, 'id'],
    ['addr wrong type', { ...good, addr: 9000 }, 'addr'],
    ['addr no port', { ...good, addr: '127.0.0.1' }, 'addr'],
    ['addr port 0', { ...good, addr: '127.0.0.1:0' }, 'addr'],
    ['addr port too big', { ...good, addr: '127.0.0.1:70000' }, 'addr'],
    ['addr unbracketed ipv6', { ...good, addr: '::1:9000' }, 'addr'],
    ['addr unspecified', { ...good, addr: '0.0.0.0:9000' }, 'addr'],
    ['http wrong type', { ...good, http: ['x'] }, 'http'],
    ['http not a url', { ...good, http: 'nope' }, 'http'],
    ['http wrong scheme', { ...good, http: 'file:///etc/passwd' }, 'http'],
    ['extra field', { ...good, admin: true }, 'additional'],
    ['array body', [good], 'object'],
    ['null body', null, ''],
    [
      'proto key',
      JSON.parse(`{"id":"a","addr":"${good.addr}","http":"${good.http}","__proto__":{"x":1}}`),
      '',
    ],
  ]
  it.each(cases)('%s → 400', async (_label, body, inMessage) => {
    const { app } = await make()
    const res = await app.inject({
      method: 'POST',
      url: '/register',
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(400)
    const err = res.json().error
    expect(err.code).toBe('TALLY_BAD_REQUEST')
    expect(err.message).toContain(inMessage)
    expect(app.registry.size).toBe(0)
  })

  it('garbage JSON → 400', async () => {
    const { app } = await make()
    for (const payload of ['{garbage', '', '{"id":', '\u0000']) {
      const res = await app.inject({
        method: 'POST',
        url: '/register',
        payload,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
    }
  })

  it('huge body → 413 TALLY_BODY_TOO_LARGE', async () => {
    const { app } = await make()
    const res = await register(app, { ...good, pad: 'x'.repeat(100_000) })
    expect(res.statusCode).toBe(413)
    expect(res.json().error.code).toBe('TALLY_BODY_TOO_LARGE')
  })

  it('non-JSON content type → 415', async () => {
    const { app } = await make()
    const res = await app.inject({
      method: 'POST',
      url: '/register',
      payload: 'id=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(res.statusCode).toBe(415)
    expect(res.json().error.code).toBe('TALLY_UNSUPPORTED_MEDIA_TYPE')
  })

  it('heartbeat with a bad body → 400', async () => {
    const { app } = await make()
    for (const payload of [{}, { id: 1 }, { id: 'a', extra: 1 }, { id: 'a b' }]) {
      const res = await app.inject({ method: 'POST', url: '/heartbeat', payload })
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
    }
  })
})

describe('fuzz: arbitrary bodies never crash and only valid registrations change the table', () => {
  it('random JSON and near-miss records', async () => {
    const { app } = await make()
    const field = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '127.0.0.1:9000',
        '[::1]:1',
        'h:65535',
        'http://h:1',
        'https://x.y/',
        'n-1',
        '0.0.0.0:1',
      ),
      fc.integer(),
      fc.constant(null),
    )
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ id: field, addr: field, http: field }),
      fc.record({ id: field, addr: field, http: field, extra: field }, { requiredKeys: [] }),
    )
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const before = app.registry.size
        const res = await app.inject({
          method: 'POST',
          url: '/register',
          payload: JSON.stringify(b) ?? '',
          headers: { 'content-type': 'application/json' },
        })
        expect(res.statusCode).toBeLessThan(500)
        const o = b as Record<string, unknown>
        const valid =
          typeof b === 'object' &&
          b !== null &&
          !Array.isArray(b) &&
          Object.keys(b).every((k) => ['id', 'addr', 'http'].includes(k)) &&
          isValidNodeId(o.id) &&
          typeof parseHostPort(o.addr) === 'object' &&
          typeof o.http === 'string' &&
          o.http.length > 0 &&
          checkHttpUrl(o.http) === undefined
        expect(res.statusCode, JSON.stringify(b)).toBe(valid ? 200 : 400)
        if (!valid) expect(app.registry.size).toBe(before)
        else app.registry.remove(o.id as string)
      }),
      { numRuns: 300 },
    )
  })
})

describe('router-level refusals use the error body too', () => {
  it('an id past the router limit and a malformed URL get {error: {code, message}}', async () => {
    const { app } = await make()
    const long = await app.inject({ method: 'DELETE', url: `/peers/${'a'.repeat(300)}` })
    expect(long.statusCode).toBe(414)
    expect(long.json().error.code).toBe('TALLY_BAD_REQUEST')
    const badUrl = await app.inject({ method: 'DELETE', url: '/peers/%E0%A4%A' })
    expect(badUrl.statusCode).toBe(400)
    expect(badUrl.json().error.code).toBe('TALLY_BAD_REQUEST')
  })
})
