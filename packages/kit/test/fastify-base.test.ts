import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createFastify,
  DomainError,
  type FastifyBaseOptions,
  HttpError,
  SHARED_ERROR_STATUS,
} from '../src/index.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

interface Logged {
  level: number
  msg: string
}

function make(opts: Partial<FastifyBaseOptions> = {}) {
  const lines: Logged[] = []
  const logger = recorder(lines)
  const app = createFastify({
    logger,
    bodyLimit: 64,
    maxParamLength: 20,
    errors: { status: { ...SHARED_ERROR_STATUS, TALLY_TABLE_FULL: 507, TALLY_CUSTOM: 409 } },
    ...opts,
  })
  app.post(
    '/echo',
    { schema: { body: { type: ['object', 'null'], properties: { n: { type: 'integer' } } } } },
    async (req) => ({ body: req.body ?? 'none' }),
  )
  app.get('/p/:id', async (req) => req.params)
  app.get('/domain', async () => {
    throw new DomainError('TALLY_CUSTOM', 'custom', { confirmed: 1 })
  })
  app.get('/full', async () => {
    throw new DomainError('TALLY_TABLE_FULL', 'full')
  })
  app.get('/http', async () => {
    throw new HttpError('TALLY_OTHER', 418, 'teapot')
  })
  app.get('/bug', async () => {
    throw new Error('boom')
  })
  apps.push(app)
  return { app, lines }
}

// A logger that records (level, msg) like pino's numbers: debug 20, warn 40, error 50.
function recorder(lines: Logged[]): FastifyBaseLogger {
  const at =
    (level: number) =>
    (...args: unknown[]): void => {
      const msg = args.find((a) => typeof a === 'string')
      lines.push({ level, msg: typeof msg === 'string' ? msg : '' })
    }
  const logger = {
    level: 'debug',
    trace: at(10),
    debug: at(20),
    info: at(30),
    warn: at(40),
    error: at(50),
    fatal: at(60),
    silent: () => {},
    child: () => logger,
  }
  return logger as unknown as FastifyBaseLogger
}

const json = { 'content-type': 'application/json' }

describe('createFastify', () => {
  it.each([
    ['valid JSON', '{"n":1}', json, 200, { body: { n: 1 } }],
    ['empty body is no body', '', json, 200, { body: 'none' }],
    ['blank body is no body', '  ', json, 200, { body: 'none' }],
    [
      'invalid JSON',
      '{nope',
      json,
      400,
      { error: { code: 'TALLY_BAD_REQUEST', message: 'body is not valid JSON' } },
    ],
    [
      'prototype poisoning',
      '{"__proto__":{"x":1}}',
      json,
      400,
      { error: { code: 'TALLY_BAD_REQUEST', message: 'body is not valid JSON' } },
    ],
    [
      'a key repeated in one object',
      '{"n":"x","n":2}',
      json,
      400,
      { error: { code: 'TALLY_BAD_REQUEST', message: 'duplicate key "n" in the JSON body' } },
    ],
    [
      'text/plain',
      'hi',
      { 'content-type': 'text/plain' },
      415,
      { error: { code: 'TALLY_UNSUPPORTED_MEDIA_TYPE', message: 'request body must be application/json' } },
    ],
    [
      'too large',
      JSON.stringify({ n: 1, pad: 'x'.repeat(100) }),
      json,
      413,
      { error: { code: 'TALLY_BODY_TOO_LARGE', message: 'request body exceeds 64 bytes' } },
    ],
    [
      'schema violation',
      '{"n":"x"}',
      json,
      400,
      { error: { code: 'TALLY_BAD_REQUEST', message: 'body/n must be integer' } },
    ],
  ])('%s → %d', async (_what, payload, headers, status, body) => {
    const { app } = make()
    const res = await app.inject({ method: 'POST', url: '/echo', payload, headers })
    expect(res.statusCode).toBe(status)
    expect(res.json()).toEqual(body)
  })

  it.each([
    ['/nowhere?x=1', 404, { code: 'TALLY_NOT_FOUND', message: 'no route GET /nowhere' }],
    [`/p/${'a'.repeat(30)}`, 414, { code: 'TALLY_BAD_REQUEST' }],
    ['/p/%E0%A4%A', 400, { code: 'TALLY_BAD_REQUEST' }],
    ['/domain', 409, { code: 'TALLY_CUSTOM', message: 'custom', confirmed: 1 }],
    ['/full', 507, { code: 'TALLY_TABLE_FULL', message: 'full' }],
    ['/http', 418, { code: 'TALLY_OTHER', message: 'teapot' }],
    ['/bug', 500, { code: 'TALLY_INTERNAL', message: 'internal error' }],
  ])('GET %s → %d in the house shape', async (url, status, error) => {
    const { app } = make()
    const res = await app.inject({ method: 'GET', url })
    expect(res.statusCode).toBe(status)
    expect(res.json().error).toMatchObject(error)
  })

  it('logs only unexpected errors above debug (at error); known 5xx and client faults at debug', async () => {
    const { app, lines } = make()
    await app.inject({ method: 'POST', url: '/echo', payload: '{nope', headers: json })
    await app.inject({ method: 'GET', url: '/domain' })
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
    await app.inject({ method: 'GET', url: '/full' })
    expect(lines.filter((l) => l.level > 20)).toEqual([])
    expect(lines.some((l) => l.level === 20 && l.msg === 'request failed')).toBe(true)
    await app.inject({ method: 'GET', url: '/bug' })
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['unexpected error'])
    expect(lines.some((l) => l.msg === 'incoming request')).toBe(false)
  })

  it('lets a component map errors first (e.g. a validation path → its own code)', async () => {
    const { app } = make({
      errors: {
        status: SHARED_ERROR_STATUS,
        map: (err) =>
          err.validation?.[0]?.instancePath === '/n'
            ? new HttpError('TALLY_AMOUNT_INVALID', 400, `amount ${err.validation[0].message}`)
            : undefined,
      },
    })
    const res = await app.inject({ method: 'POST', url: '/echo', payload: '{"n":1.5}', headers: json })
    expect(res.json()).toEqual({ error: { code: 'TALLY_AMOUNT_INVALID', message: 'amount must be integer' } })
  })

  it('lets a component answer an error itself before any mapping', async () => {
    const { app } = make({
      errors: {
        status: SHARED_ERROR_STATUS,
        intercept: (err, _req, reply) =>
          err instanceof DomainError ? reply.code(504).send({ relayed: err.code }) : undefined,
      },
    })
    expect((await app.inject({ method: 'GET', url: '/domain' })).json()).toEqual({ relayed: 'TALLY_CUSTOM' })
    expect((await app.inject({ method: 'GET', url: '/bug' })).statusCode).toBe(500)
  })
})

describe('request logger', () => {
  it('is the server logger itself: no child logger is made per request', async () => {
    const base = recorder([])
    let children = 0
    // Every child is a new object, as pino's are.
    const child = (): FastifyBaseLogger => {
      children++
      return Object.assign(Object.create(base) as FastifyBaseLogger, { child })
    }
    const logger = Object.assign(Object.create(base) as FastifyBaseLogger, { child })
    const app = createFastify({ logger, bodyLimit: 64, errors: { status: SHARED_ERROR_STATUS } })
    apps.push(app)
    let same = 0
    app.get('/who', async (req) => {
      if (req.log === app.log) same++
      return {}
    })
    await app.ready()
    const before = children
    for (let i = 0; i < 3; i++)
      expect((await app.inject({ method: 'GET', url: '/who' })).statusCode).toBe(200)
    expect(children - before).toBe(0)
    expect(same).toBe(3)
  })
})
