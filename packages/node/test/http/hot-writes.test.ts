// The hot writes (http/hot-writes.ts) over real sockets: they are taken only
// in their simplest form and skip fastify's hooks; their answers, headers,
// write series and load match fastify's (app.inject never takes them); any
// other form is fastify's answer, and a write the node refuses is answered
// by fastify's error handler with the node asked once.

import { connect } from 'node:net'
import { sample } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import { hotWrite } from '../../src/http/hot-writes.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let app: FastifyInstance | undefined
let node: TallyNode | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
  await node?.stop()
  node = undefined
})

describe('hotWrite', () => {
  it.each([
    ['/increment', 'increment', 'default'],
    ['/decrement', 'decrement', 'default'],
    ['/counters/a.b_c~d-e/increment', 'increment', 'a.b_c~d-e'],
    ['/counters/x/decrement', 'decrement', 'x'],
  ])('POST %s is hot (%s %s)', (url, op, name) => {
    expect(hotWrite('POST', url)).toEqual({ op, name })
  })

  it.each([
    ['POST', '/increment?consistency=quorum'],
    ['POST', '/increment/'],
    ['POST', '/counters/a%2Fb/increment'],
    ['POST', '/counters/../increment'],
    ['POST', '/counters/./increment'],
    ['POST', '/counters/__proto__/increment'],
    ['POST', `/counters/${'x'.repeat(129)}/increment`],
    ['POST', '/counters/x/increment/'],
    ['POST', '/counters/x/ttl'],
    ['POST', '/counters//increment'],
    ['POST', '/counters/a:b/increment'],
    ['POST', '/counter'],
    ['GET', '/increment'],
    ['PUT', '/counters/x/increment'],
  ])('%s %s is left to fastify', (method, url) => {
    expect(hotWrite(method, url)).toBeUndefined()
  })
})

/** The answer's status, body and headers but the date and connection ones. */
function shape(status: number, headers: Record<string, unknown>, body: string) {
  const h = Object.fromEntries(
    Object.entries(headers).filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k.toLowerCase())),
  )
  return { status, headers: h, body }
}

const JSON_TYPE = { 'content-type': 'application/json' }

async function start(): Promise<{
  origin: string
  hooked: () => number
  asked: () => number
  /** Requests node:http read (every one the raw front did not answer). */
  viaHttp: () => number
}> {
  node = (await startSim(new MemoryNetwork(), 'hot', [])).node
  const n = node
  // Every write that reaches the node, hot or through fastify.
  let asked = 0
  const mutate = n.mutate.bind(n)
  n.mutate = (req) => {
    asked++
    return mutate(req)
  }
  app = buildApp({ node: n })
  // Fastify's hooks see every request it serves.
  let hooked = 0
  app.addHook('onRequest', (_req, _reply, done) => {
    hooked++
    done()
  })
  let viaHttp = 0
  app.server.on('request', () => viaHttp++)
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  return { origin, hooked: () => hooked, asked: () => asked, viaHttp: () => viaHttp }
}

async function overHttp(origin: string, path: string, headers: Record<string, string>, body: string) {
  const r = await fetch(`${origin}${path}`, { method: 'POST', headers, body })
  return shape(r.status, Object.fromEntries(r.headers), await r.text())
}

async function injected(path: string, headers: Record<string, string>, body: string) {
  const r = await app!.inject({ method: 'POST', url: path, headers, payload: body })
  return shape(r.statusCode, r.headers, r.body)
}

describe('hot writes over HTTP', () => {
  it('answer plain and keyed writes without fastify, with fastify’s answers, series and load', async () => {
    const { origin, hooked, asked, viaHttp } = await start()
    const a = await overHttp(origin, '/counters/hot/increment', JSON_TYPE, '{"amount":3}')
    const b = await overHttp(origin, '/decrement', JSON_TYPE, ' { "amount" : 2 } ')
    const k = { ...JSON_TYPE, 'idempotency-key': 'k1', 'tally-attempt': '2' }
    const c = await overHttp(origin, '/counters/hot/increment', k, '{"amount":4}')
    const again = await overHttp(origin, '/counters/hot/increment', k, '{"amount":4}')
    expect(hooked()).toBe(0)
    // All four on the raw front: node:http read none of them.
    expect(viaHttp()).toBe(0)
    expect(asked()).toBe(4)
    // The same request through fastify (app.inject) on another counter answers alike.
    const viaFastify = await injected('/counters/cold/increment', JSON_TYPE, '{"amount":3}')
    expect(viaFastify.body).toBe('{"name":"cold","value":3}')
    const headers = (length: number) => ({ ...viaFastify.headers, 'content-length': String(length) })
    expect(a).toEqual({ status: 200, headers: headers(24), body: '{"name":"hot","value":3}' })
    expect(b).toEqual({ status: 200, headers: headers(29), body: '{"name":"default","value":-2}' })
    expect(c).toEqual({ status: 200, headers: headers(24), body: '{"name":"hot","value":7}' })
    // A repeated key answers the first answer and changes nothing.
    expect(again).toEqual(c)
    expect(node!.value('hot')).toBe(7)

    const metrics = (await app!.inject('/metrics')).body
    // The four hot writes and the injected one, each counted and timed once.
    expect(sample(metrics, 'tally_writes_total{op="increment",result="ok"}')).toBe(4)
    expect(sample(metrics, 'tally_writes_total{op="decrement",result="ok"}')).toBe(1)
    expect(sample(metrics, 'tally_write_duration_seconds_count')).toBe(5)
    expect(sample(metrics, 'tally_http_inflight_requests')).toBe(0)
  })

  it('leave every other form to fastify, which answers it as before', async () => {
    const { origin, hooked, asked } = await start()
    const cases: [string, Record<string, string>, string][] = [
      ['/increment?consistency=one', JSON_TYPE, '{"amount":1}'],
      ['/increment', { 'content-type': 'application/json; charset=utf-8' }, '{"amount":1}'],
      ['/increment', JSON_TYPE, '{"amount":1,"amount":2}'],
      ['/increment', JSON_TYPE, '{"amount":1.5}'],
      ['/increment', JSON_TYPE, '{}'],
      ['/increment', JSON_TYPE, ''],
      ['/increment', { 'content-type': 'text/plain' }, '{"amount":1}'],
      ['/increment', { ...JSON_TYPE, 'idempotency-key': ' ' }, '{"amount":1}'],
      ['/increment', { ...JSON_TYPE, 'tally-attempt': '0' }, '{"amount":1}'],
      ['/counters/a%2Fb/increment', JSON_TYPE, '{"amount":1}'],
      [`/counters/${'x'.repeat(129)}/increment`, JSON_TYPE, '{"amount":1}'],
    ]
    let fastifyRequests = 0
    for (const [path, headers, body] of cases) {
      const http = await overHttp(origin, path, headers, body)
      fastifyRequests++
      expect(hooked(), path).toBe(fastifyRequests)
      // The same request again through app.inject: the same answer (a write's value one step on).
      const viaInject = await injected(path, headers, body)
      expect(http.status, `${path} ${body}`).toBe(viaInject.status)
      if (http.status === 200) {
        expect(JSON.parse(viaInject.body).value).toBe(JSON.parse(http.body).value + 1)
        expect(http.headers).toEqual(viaInject.headers)
      } else expect(http, `${path} ${body}`).toEqual(viaInject)
      fastifyRequests++
    }
    // Only what fastify's parser and schemas let through reached the node, once per request: the
    // query and charset forms, `{}`, the empty body and both names (over HTTP and injected).
    expect(asked()).toBe(12)
  })

  it('hand a write the node refuses to fastify’s error handler, asking the node once', async () => {
    const { origin, hooked, asked } = await start()
    const k = { ...JSON_TYPE, 'idempotency-key': 'once' }
    expect((await overHttp(origin, '/counters/x/increment', k, '{"amount":1}')).status).toBe(200)
    // The same key for another write: refused by the node after the hot path asked it.
    const mismatch = await overHttp(origin, '/counters/x/increment', k, '{"amount":2}')
    const max = '{"amount":9007199254740991}'
    expect((await overHttp(origin, '/counters/big/increment', JSON_TYPE, max)).status).toBe(200)
    const overflow = await overHttp(origin, '/counters/big/increment', JSON_TYPE, max)
    expect(asked()).toBe(4)
    expect(hooked()).toBe(2)
    expect(mismatch).toEqual(await injected('/counters/x/increment', k, '{"amount":2}'))
    expect(JSON.parse(mismatch.body).error.code).toBe('TALLY_IDEMPOTENCY_MISMATCH')
    expect(overflow).toEqual(await injected('/counters/big/increment', JSON_TYPE, max))
    expect(JSON.parse(overflow.body).error.code).toBe('TALLY_OVERFLOW')
    expect(node!.value('x')).toBe(1)
    expect(node!.value('big')).toBe(9007199254740991)
    // Each refusal counted once (and the injected copies once each).
    const metrics = (await app!.inject('/metrics')).body
    expect(sample(metrics, 'tally_write_duration_seconds_count')).toBe(6)
    expect(sample(metrics, 'tally_http_inflight_requests')).toBe(0)
  })

  it('answer pipelined writes on the raw front, in order, and hand the rest from a refused one to fastify', async () => {
    const { origin, hooked, viaHttp } = await start()
    const { port } = new URL(origin)
    const write = (name: string, amount: number) =>
      `POST /counters/${name}/increment HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: ${12 + String(amount).length - 1}\r\n\r\n{"amount":${amount}}`
    const socket = connect(Number(port), '127.0.0.1')
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      text += d
    })
    // Three writes in one packet: the raw front serves them at once and answers them in order.
    socket.write(write('p', 1) + write('p', 2) + write('p', 3))
    await expect.poll(() => text.split('HTTP/1.1 200 OK').length - 1).toBe(3)
    expect([...text.matchAll(/\{"name":"p","value":(\d+)\}/g)].map((m) => Number(m[1]))).toEqual([1, 3, 6])
    expect(viaHttp()).toBe(0)
    expect(hooked()).toBe(0)
    // One that overflows between two that do not: fastify answers its refusal, the one after it is
    // answered as the front settled it; each reached the node once.
    const max = 9007199254740991
    text = ''
    socket.write(write('q', max) + write('q', 1) + write('p', 4))
    await expect.poll(() => text.split('HTTP/1.1 ').length - 1).toBe(3)
    socket.destroy()
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]))
    expect(statuses).toEqual([200, 422, 200])
    expect(text).toContain('"code":"TALLY_OVERFLOW"')
    expect(text).toContain('{"name":"p","value":10}')
    expect(viaHttp()).toBe(2)
    expect(hooked()).toBe(1)
    expect(node!.value('p')).toBe(10)
    expect(node!.value('q')).toBe(max)
  })
})
