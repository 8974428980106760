// The gateway's RESP listener in front of fake nodes: writes take the HTTP
// write path (an idempotency key on every write, reused on failover), reads
// tell a missing counter from zero, node errors come back by code.
import type { RespListener } from '@tally/kit/resp'
import { RawResp } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, respFor } from './support/gateway.js'

let fakes: FakeNode[]
let app: FastifyInstance
let resp: RespListener
let c: RawResp

beforeAll(async () => {
  fakes = await startFakes(3)
  app = await gatewayFor(fakes)
  resp = await respFor(app)
  c = await RawResp.open(resp.port)
})
afterAll(async () => {
  c.close()
  await resp.close()
  await app.close()
  await Promise.all(fakes.map((f) => f.close()))
})
afterEach(() => {
  for (const f of fakes) f.answerNormally()
})

const writesOf = (name: string) =>
  fakes.flatMap((f) =>
    f.seen.filter((s) => s.method === 'POST' && s.url.startsWith(`/counters/${encodeURIComponent(name)}/`)),
  )

describe('gateway RESP', () => {
  it('INCR forwards with a generated idempotency key; names are percent-encoded', async () => {
    expect(await c.call('INCRBY', 'rl:{t}/login', '3')).toBe(3)
    const seg = encodeURIComponent('rl:{t}/login')
    const [w] = writesOf('rl:{t}/login')
    expect(w?.url).toBe(`/counters/${seg}/increment`)
    expect(w?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
    expect(w?.attempt).toBe('1')
    expect(await c.call('DECRBY', 'gw:d', '2')).toBe(-2)
  })

  it('a node failing mid-write: the retry on another node carries the same key, counted once', async () => {
    for (const f of fakes.slice(0, 2)) f.writeMode = 'reset'
    // Round-robin: over three writes, at least one meets a failing node first.
    let retried = 0
    for (let i = 0; i < 3; i++) {
      expect(await c.call('INCRBY', `gw:fail${i}`, '7')).toBe(7)
      const ws = writesOf(`gw:fail${i}`)
      if (ws.length > 1) retried++
      expect(new Set(ws.map((w) => w.idempotencyKey)).size).toBe(1)
      expect(ws.map((w) => w.attempt)).toEqual(ws.map((_, k) => String(k + 1)))
      expect(fakes.reduce((s, f) => s + f.map.value(`gw:fail${i}`), 0)).toBe(7)
    }
    expect(retried).toBeGreaterThan(0)
  })

  it("TALLY.INCRBY … KEY passes the client's key; a repeat is answered from the node's record", async () => {
    expect(await c.call('TALLY.INCRBY', 'gw:k', '5', 'KEY', 'client-key-1')).toBe(5)
    expect(await c.call('TALLY.INCRBY', 'gw:k', '5', 'KEY', 'client-key-1')).toBe(5)
    expect(writesOf('gw:k').map((w) => w.idempotencyKey)).toEqual(['client-key-1', 'client-key-1'])
    expect(fakes.reduce((s, f) => s + f.map.value('gw:k'), 0)).toBe(5)
  })

  it('GET: nil for a counter no node has, the value otherwise; MGET, EXISTS, KEYS', async () => {
    for (const f of fakes) f.map.increment('gw:all', 2)
    expect(await c.call('GET', 'gw:none')).toBeNull()
    expect(await c.call('GET', 'bad name')).toBeNull()
    expect(await c.call('GET', 'gw:all')).toBe('2')
    expect(await c.call('MGET', 'gw:all', 'gw:none')).toEqual(['2', null])
    expect(await c.call('EXISTS', 'gw:all', 'gw:none')).toBe(1)
    expect(await c.call('KEYS', 'gw:a*')).toEqual(['gw:all'])
    expect(await c.call('INFO', 'tally')).toMatch(
      /tally_role:gateway\r\ntally_nodes_known:3\r\ntally_nodes_usable:\d/,
    )
  })

  it('errors: bad names refused before any node sees them; node errors by code; no nodes is TRYAGAIN', async () => {
    // Writes only: the gateway's health checks and stats polls reach the nodes meanwhile.
    const before = fakes.reduce((s, f) => s + f.writes().length, 0)
    expect(((await c.call('INCR', 'bad name')) as { error: string }).error).toMatch(
      /^TALLY TALLY_NAME_INVALID /,
    )
    expect(fakes.reduce((s, f) => s + f.writes().length, 0)).toBe(before)
    for (const f of fakes)
      f.writeAnswer = { status: 422, body: { error: { code: 'TALLY_OVERFLOW', message: 'x' } } }
    expect(await c.call('INCR', 'gw:o')).toEqual({ error: 'ERR increment or decrement would overflow' })
    for (const f of fakes) f.writeAnswer = undefined
    for (const f of fakes) f.mode = 'reset'
    const r = (await c.call('INCR', 'gw:down')) as { error: string }
    expect(r.error).toMatch(/^TRYAGAIN TALLY_NO_NODES /)
  })
})
