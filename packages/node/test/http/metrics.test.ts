// GET /metrics (Prometheus text) and GET /stats (JSON) of a node, through
// app.inject: the series count what happened, and promtool accepts the
// output when it is installed.

import { promtool, promtoolProblems, sample } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import { writeResultOf } from '../../src/http/metrics.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let app: FastifyInstance
let node: TallyNode

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'prom', [])).node
  app = buildApp({ node })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await node.stop()
})

const post = (url: string, body: string) =>
  app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' } })

describe('node GET /metrics', () => {
  it('counts each write by operation and outcome, and times them', async () => {
    for (let i = 0; i < 3; i++)
      expect((await post('/counters/m/increment', '{"amount":1}')).statusCode).toBe(200)
    expect((await post('/decrement', '{"amount":2}')).statusCode).toBe(200)
    expect((await post('/increment', '{"amount":1.5}')).statusCode).toBe(400)
    expect((await post('/increment', '{bad json')).statusCode).toBe(400)
    const res = await app.inject('/metrics')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = res.body
    expect(sample(text, 'tally_writes_total{op="increment",result="ok"}')).toBe(3)
    expect(sample(text, 'tally_writes_total{op="decrement",result="ok"}')).toBe(1)
    expect(sample(text, 'tally_writes_total{op="increment",result="invalid"}')).toBe(2)
    expect(sample(text, 'tally_write_duration_seconds_count')).toBe(6)
    expect(sample(text, 'tally_counters')).toBe(2)
    expect(sample(text, 'tally_replicas')).toBe(1)
    expect(sample(text, 'tally_peers{state="live"}')).toBe(0)
    expect(sample(text, 'tally_gossip_bad_frames_total{reason="oversize"}')).toBe(0)
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    // No label per counter name: the counter names never appear in the output.
    expect(text).not.toContain('"m"')
  })

  it.skipIf(promtool === undefined)(
    'passes promtool check metrics (skipped: promtool not installed)',
    async () => {
      const text = (await app.inject('/metrics')).body
      expect(promtoolProblems(text)).toEqual([])
    },
  )

  it('refuses a query string with the house error', async () => {
    const res = await app.inject('/metrics?format=json')
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('GET /stats keeps the JSON document', async () => {
    const res = await app.inject('/stats')
    expect(res.statusCode).toBe(200)
    const body = res.json() as { id: string; counters: number; transport: object; replication: object }
    expect(body.id).toBe('prom')
    expect(typeof body.counters).toBe('number')
    expect(body.transport).toBeDefined()
    expect(body.replication).toBeDefined()
    expect((await app.inject('/stats?x=1')).json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('maps statuses to write outcomes', () => {
    expect([200, 400, 409, 422, 503, 504, 500].map(writeResultOf)).toEqual([
      'ok',
      'invalid',
      'conflict',
      'invalid',
      'unavailable',
      'timeout',
      'error',
    ])
  })
})
