// GET /metrics of the gateway against fake nodes over real sockets: the
// series count requests by route pattern, upstream attempts, retries,
// ejections and nodes by state; promtool accepts the output when installed.
import { promtool, promtoolProblems, sample, until } from '@tally/kit/testing'
import { describe, expect, it } from 'vitest'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'

const t = perTestGateway<FakeNode>()

const metrics = async () => (await t.app!.inject('/metrics')).body

describe('gateway GET /metrics', () => {
  it('counts requests by route pattern and status, upstream attempts, retries and ejections', async () => {
    t.fakes = await startFakes(2)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    for (let i = 0; i < 3; i++)
      expect((await t.app.inject({ method: 'POST', url: '/increment' })).statusCode).toBe(200)
    expect((await t.app.inject('/counters/a')).statusCode).toBe(200)
    expect((await t.app.inject('/counters/b')).statusCode).toBe(200)
    expect((await t.app.inject('/counters/b?consistency=most')).statusCode).toBe(400)
    expect((await t.app.inject('/no/such/route')).statusCode).toBe(404)
    let text = await metrics()
    expect(sample(text, 'tally_gateway_requests_total{method="POST",route="/increment",status="200"}')).toBe(
      3,
    )
    expect(
      sample(text, 'tally_gateway_requests_total{method="GET",route="/counters/:name",status="200"}'),
    ).toBe(2)
    expect(
      sample(text, 'tally_gateway_requests_total{method="GET",route="/counters/:name",status="400"}'),
    ).toBe(1)
    expect(sample(text, 'tally_gateway_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1)
    expect(sample(text, 'tally_gateway_upstream_duration_seconds_count{outcome="ok"}')).toBe(5)
    expect(sample(text, 'tally_gateway_retries_total')).toBe(0)
    expect(sample(text, 'tally_gateway_nodes{state="healthy"}')).toBe(2)
    // One node fails: the next write is retried on the other, the failing node is ejected.
    const failing = t.fakes[0]!
    failing.mode = 'error'
    const before = failing.seen.length
    await until(
      async () => {
        await t.app!.inject({ method: 'POST', url: '/increment' })
        return failing.seen.length > before
      },
      { what: 'a write reaching the failing node', timeoutMs: 10_000 },
    )
    text = await metrics()
    expect(sample(text, 'tally_gateway_retries_total')).toBe(1)
    expect(sample(text, 'tally_gateway_ejections_total')).toBe(1)
    expect(sample(text, 'tally_gateway_upstream_duration_seconds_count{outcome="failed"}')).toBe(1)
    expect(sample(text, 'tally_gateway_nodes{state="ejected"}')).toBe(1)
  })

  it.skipIf(promtool === undefined)(
    'passes promtool check metrics (skipped: promtool not installed)',
    async () => {
      t.fakes = await startFakes(1)
      t.app = await gatewayFor(t.fakes)
      await t.app.inject({ method: 'POST', url: '/increment' })
      expect(promtoolProblems(await metrics())).toEqual([])
    },
  )

  it('refuses a query string with the house error', async () => {
    t.fakes = await startFakes(1)
    t.app = await gatewayFor(t.fakes)
    const res = await t.app.inject('/metrics?x=1')
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
  })
})
