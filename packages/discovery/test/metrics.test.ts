// GET /metrics of the discovery server: the series count registrations,
// heartbeats and expiries; promtool accepts the output when installed.
import { promtool, promtoolProblems, sample } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function make() {
  let t = 1_700_000_000_000
  const clock = { now: () => t, advance: (ms: number) => (t += ms) }
  const app = await buildApp({ ttlMs: 3000, clock, sweepIntervalMs: 0, maxPeers: 2 })
  apps.push(app)
  return { app, clock }
}

const reg = (app: FastifyInstance, id: string, n: number) =>
  app.inject({
    method: 'POST',
    url: '/register',
    payload: { id, addr: `127.0.0.1:${9000 + n}`, http: `http://127.0.0.1:${8010 + n}` },
  })
const hb = (app: FastifyInstance, id: string) =>
  app.inject({ method: 'POST', url: '/heartbeat', payload: { id } })

describe('discovery GET /metrics', () => {
  it('counts registrations by outcome, heartbeats by result, expiries and live nodes', async () => {
    const { app, clock } = await make()
    expect((await reg(app, 'a', 1)).statusCode).toBe(200)
    expect((await reg(app, 'b', 2)).statusCode).toBe(200)
    expect((await reg(app, 'a', 1)).statusCode).toBe(200)
    expect((await reg(app, 'c', 3)).statusCode).toBe(507)
    for (let i = 0; i < 3; i++) expect((await hb(app, 'a')).statusCode).toBe(200)
    expect((await hb(app, 'nobody')).statusCode).toBe(404)
    clock.advance(2000)
    await hb(app, 'a')
    clock.advance(2000) // b expired
    app.registry.sweep()
    const text = (await app.inject('/metrics')).body
    expect(sample(text, 'tally_discovery_registrations_total{outcome="created"}')).toBe(2)
    expect(sample(text, 'tally_discovery_registrations_total{outcome="updated"}')).toBe(1)
    expect(sample(text, 'tally_discovery_registrations_total{outcome="full"}')).toBe(1)
    expect(sample(text, 'tally_discovery_heartbeats_total{result="ok"}')).toBe(4)
    expect(sample(text, 'tally_discovery_heartbeats_total{result="unknown"}')).toBe(1)
    expect(sample(text, 'tally_discovery_expiries_total')).toBe(1)
    expect(sample(text, 'tally_discovery_nodes')).toBe(1)
    expect(sample(text, 'tally_discovery_requests_total{method="POST",route="/register",status="200"}')).toBe(
      3,
    )
  })

  it.skipIf(promtool === undefined)(
    'passes promtool check metrics (skipped: promtool not installed)',
    async () => {
      const { app } = await make()
      await reg(app, 'a', 1)
      expect(promtoolProblems((await app.inject('/metrics')).body)).toEqual([])
    },
  )

  it('refuses a query string with the house error', async () => {
    const { app } = await make()
    const res = await app.inject('/metrics?x=1')
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
  })
})
