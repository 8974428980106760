// /nodes and /dashboard/state answer from the gateway's own data (fake
// nodes over real sockets): no request to a node, even a hanging one; the
// dashboard data has the verdict, the nodes and the samples; bad input gets
// the house error.
import { until } from '@tally/kit/testing'
import { describe, expect, it } from 'vitest'
import { readSince } from '../src/routes/dashboard.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'

const t = perTestGateway<FakeNode>()

describe('GET /nodes', () => {
  it('answers without asking any node, even one that hangs', async () => {
    t.fakes = await startFakes(2)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    t.fakes[1]!.mode = 'hang'
    const seen = t.fakes.map((f) => f.seen.length)
    const res = await t.app.inject('/nodes')
    expect(res.statusCode).toBe(200)
    const nodes = res.json().nodes as Array<{ id: string; state: string; since: string }>
    expect(nodes.map((n) => [n.id, n.state])).toEqual([
      ['n1', 'healthy'],
      ['n2', 'healthy'],
    ])
    expect(Number.isNaN(Date.parse(nodes[0]!.since))).toBe(false)
    // The answer came back without a single request reaching a node.
    expect(t.fakes.map((f) => f.seen.length)).toEqual(seen)
  })

  it('a node whose stats poll fails turns suspect with the poll error as reason', async () => {
    t.fakes = await startFakes(2)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000, sampleIntervalMs: 100 })
    t.fakes[1]!.mode = 'error'
    await until(
      async () => {
        const n2 = (await t.app!.inject('/nodes')).json().nodes.find((n: { id: string }) => n.id === 'n2')
        return n2.state === 'suspect' ? n2 : undefined
      },
      { what: 'n2 suspect', timeoutMs: 10_000 },
    ).then((n2) => expect(n2.lastError).toMatch(/^stats poll: HTTP 500/))
  })
})

describe('GET /dashboard/state', () => {
  it('has the verdict, every node and the samples; ?since= returns only newer samples', async () => {
    t.fakes = await startFakes(2)
    t.app = await gatewayFor(t.fakes, { sampleIntervalMs: 50 })
    await until(async () => (await t.app!.inject('/dashboard/state')).json().samples.length >= 3, {
      what: 'three samples',
      timeoutMs: 10_000,
    })
    const st = (await t.app.inject('/dashboard/state')).json()
    expect(st.nodes.map((n: { id: string }) => n.id)).toEqual(['n1', 'n2'])
    expect(st.discovery).toBeNull()
    expect(st.verdict).toMatchObject({ answering: 2 })
    const last = st.samples.at(-1).t as number
    const newer = (await t.app.inject(`/dashboard/state?since=${last}`)).json().samples as Array<{
      t: number
    }>
    expect(newer.every((s) => s.t > last)).toBe(true)
  })

  it.each(['abc', '-1', '1.5', '99999999999999999'])('since=%j is 400 TALLY_BAD_REQUEST', async (v) => {
    t.fakes = await startFakes(1)
    t.app = await gatewayFor(t.fakes)
    const res = await t.app.inject(`/dashboard/state?since=${v}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
    expect((await t.app.inject('/dashboard/state?x=1')).json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('readSince', () => {
    expect(readSince(undefined)).toBeUndefined()
    expect(readSince('0')).toBe(0)
    expect(() => readSince(['1', '2'])).toThrow(/since/)
  })
})

describe('GET /', () => {
  it('serves the self-contained page with a strict CSP', async () => {
    t.fakes = await startFakes(1)
    t.app = await gatewayFor(t.fakes)
    const res = await t.app.inject('/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-security-policy']).toContain("default-src 'self'")
    expect(res.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/)
  })
})
