// What a server needs to answer some requests ahead of fastify: the one
// plain write body it takes (plainAmount), and a request whose body it read
// handed to fastify with an error (replayed + handOverWith): fastify parses
// the replayed body and its handler throws the error, which the one error
// handler answers.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createFastify,
  handOverWith,
  httpError,
  isHandedOver,
  plainAmount,
  plainWrite,
  plainWriteLength,
  replayed,
  SHARED_ERROR_STATUS,
  takeRequests,
  throwHandedOver,
} from '../src/index.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

describe('plainAmount', () => {
  it('reads only the canonical amount body', () => {
    expect(plainAmount(Buffer.from('{"amount":7}'))).toBe(7)
    expect(plainAmount(Buffer.from(' { "amount" : 12 }\n'))).toBe(12)
    expect(plainAmount(Buffer.from('{"amount":9007199254740991}'))).toBe(9007199254740991)
    for (const b of [
      '{"amount":9007199254740992}',
      '{"amount":0}',
      '{"amount":-1}',
      '{"amount":01}',
      '{"amount":1.0}',
      '{"amount":1e3}',
      '{"amount":1,"x":1}',
      '{"amount":1,"amount":2}',
      '{}',
      '',
      'null',
      '{"amount":"1"}',
      `{"amount":1${' '.repeat(60)}}`,
    ])
      expect(plainAmount(Buffer.from(b)), b).toBeUndefined()
  })
})

describe('replayed and handed over', () => {
  it('fastify parses the replayed body and its error handler answers the handed-over error', async () => {
    const app = createFastify({ bodyLimit: 64, errors: { status: SHARED_ERROR_STATUS } })
    apps.push(app)
    const seen: unknown[] = []
    app.post('/w', (req) => {
      seen.push(req.body)
      throwHandedOver(req.raw)
      return { ok: true }
    })
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    const fastify = app.server.listeners('request')[0] as (a: IncomingMessage, b: ServerResponse) => void
    app.server.removeAllListeners('request')
    // Reads every body first; a body "fail" is handed over with an error, any other as it is.
    app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const again = replayed(req, body)
        if (body.includes('fail')) handOverWith(again, httpError('TALLY_BAD_REQUEST', 'handed over'))
        expect(isHandedOver(again)).toBe(body.includes('fail'))
        fastify(again, res)
      })
    })
    const post = async (body: string) => {
      const r = await fetch(`${origin}/w`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      return { status: r.status, body: (await r.json()) as { error: { message: string } } | { ok: true } }
    }
    expect(await post('{"a":1}')).toEqual({ status: 200, body: { ok: true } })
    expect(await post('{"fail":1}')).toEqual({
      status: 400,
      body: { error: { code: 'TALLY_BAD_REQUEST', message: 'handed over' } },
    })
    // fastify's own parser still answers a bad replayed body, before the handler.
    expect((await post('{"a":1,"a":2}')).body).toEqual({
      error: { code: 'TALLY_BAD_REQUEST', message: 'duplicate key "a" in the JSON body' },
    })
    expect(seen).toEqual([{ a: 1 }, { fail: 1 }])
  })
})

describe('plainWrite, plainWriteLength and takeRequests', () => {
  it.each([
    ['/increment', { op: 'increment', name: undefined }],
    ['/decrement', { op: 'decrement', name: undefined }],
    ['/counters/a.b_c~d-e/increment', { op: 'increment', name: 'a.b_c~d-e' }],
    ['/counters/x/decrement', { op: 'decrement', name: 'x' }],
  ])('POST %s names a plain write', (url, write) => {
    expect(plainWrite('POST', url)).toEqual(write)
  })

  it.each([
    ['GET', '/increment'],
    ['POST', undefined],
    ['POST', '/increment?consistency=quorum'],
    ['POST', '/counters/a%20b/increment'],
    ['POST', '/counters/../increment'],
    ['POST', '/counters/./increment'],
    ['POST', '/counters//increment'],
    ['POST', '/counters/x/increment/'],
    ['POST', '/counters/x/reset'],
    ['POST', '/counters/x'],
  ])('%s %s is not a plain write', (method, url) => {
    expect(plainWrite(method, url)).toBeUndefined()
  })

  it('takes the body length only from JSON without transfer coding, within the limit', () => {
    const json = { 'content-type': 'application/json', 'content-length': '12' }
    expect(plainWriteLength(json, 12)).toBe(12)
    expect(plainWriteLength(json, 11)).toBeUndefined()
    expect(
      plainWriteLength({ ...json, 'content-type': 'application/json; charset=utf-8' }, 64),
    ).toBeUndefined()
    expect(plainWriteLength({ ...json, 'transfer-encoding': 'chunked' }, 64)).toBeUndefined()
    expect(plainWriteLength({ 'content-type': 'application/json' }, 64)).toBeUndefined()
  })

  it('takes over the one request listener and refuses a server with another count', () => {
    const handler = (_req: IncomingMessage, res: ServerResponse) => res.end()
    const one = createServer(handler)
    expect(takeRequests(one)).toBe(handler)
    expect(one.listenerCount('request')).toBe(0)
    expect(() => takeRequests(one)).toThrow(TypeError)
    const two = createServer(handler)
    two.on('request', handler)
    expect(() => takeRequests(two)).toThrow(/found 2/)
  })
})
