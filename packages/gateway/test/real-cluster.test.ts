// Integration with real tally-node processes (packages/node/dist/tally-node.js).
// Needs the build: run `npm run build` (or `npx tsc -b`) first.

import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { gossipRoundsPass, until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NODE_BIN, type RealNode, startCluster } from './support/cluster.js'
import { gatewayFor, respFor } from './support/gateway.js'
import { respLoadWithKill, writeLoadWithKill } from './support/load.js'

it('the node daemon is built (run npm run build)', () => {
  expect(existsSync(NODE_BIN), `missing ${NODE_BIN}: run npm run build`).toBe(true)
})

/** Every node's value of counter `name` (-1 where it does not answer 200). */
const valuesOf = (nodes: readonly { url: string }[], name: string): Promise<number[]> =>
  Promise.all(
    nodes.map(async (n) => {
      const r = await fetch(`${n.url}/counters/${name}`)
      return r.status === 200 ? ((await r.json()) as { value: number }).value : -1
    }),
  )

/** Waits (30 s at most) until every node holds exactly `expected` in `name`; the error lists the last values. */
async function everyNodeAt(nodes: readonly { url: string }[], name: string, expected: number): Promise<void> {
  let last: number[] = []
  await until(
    async () => {
      last = await valuesOf(nodes, name)
      return last.every((v) => v === expected)
    },
    { what: `every node to hold exactly ${expected}`, timeoutMs: 30_000 },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last values ${JSON.stringify(last)}`)
  })
}
describe('with five real nodes', () => {
  let nodes: RealNode[] = []
  let stop: () => Promise<void> = async () => {}
  let app: FastifyInstance | undefined

  beforeAll(async () => {
    ;({ nodes, stop } = await startCluster(5))
  }, 120_000)
  afterEach(async () => {
    await app?.close()
    app = undefined
  })
  afterAll(async () => {
    await stop()
  })

  const gw = (over = {}) =>
    gatewayFor(nodes, { healthIntervalMs: 200, requestTimeoutMs: 3000, deadlineMs: 10_000, ...over })

  it('a quorum read includes a write just acknowledged by a quorum on another node', async () => {
    app = await gw()
    let crossNode = 0
    for (let i = 0; i < 10; i++) {
      const name = `rw-${i}`
      const writer = nodes[i % nodes.length]!
      // The write goes straight to one node, acknowledged by a quorum of the cluster.
      const w = await fetch(`${writer.url}/counters/${name}/increment?consistency=quorum`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 3 }),
      })
      expect(w.status, await w.text()).toBe(200)
      const r = await app.inject({ method: 'GET', url: `/counters/${name}?consistency=quorum` })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json().value).toBe(3)
      expect(r.json().replicas).toHaveLength(3)
      if (!r.json().replicas.includes(writer.id)) crossNode++
    }
    // Round-robin moves the read set around, so several reads merged only nodes other than the writer.
    expect(crossNode).toBeGreaterThan(0)
  })

  it('explained reads: one node explains its replicas and peers; a quorum read says which nodes answered', async () => {
    app = await gw()
    for (const [i, n] of nodes.slice(0, 2).entries()) {
      const w = await fetch(`${n.url}/counters/why/increment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: i + 1 }),
      })
      expect(w.status).toBe(200)
    }
    await until(async () => (await app!.inject('/counters/why?consistency=all')).json().value === 3, {
      what: 'why = 3 everywhere',
      timeoutMs: 10_000,
    })
    const one = await app.inject('/counters/why?explain=1')
    expect(one.statusCode, one.body).toBe(200)
    const ex = one.json().explain
    expect(ex.node).toBe(one.json().node)
    expect(ex.replicas.map((r: { increments: number }) => r.increments).sort()).toEqual([1, 2])
    expect(ex.peers).toHaveLength(4)
    const q = await app.inject('/counters/why?consistency=quorum&explain=1')
    expect(q.statusCode, q.body).toBe(200)
    expect(q.json().value).toBe(3)
    expect(q.json().explain.answered).toHaveLength(3)
    expect(
      q
        .json()
        .explain.answered.map((a: { node: string }) => a.node)
        .sort(),
    ).toEqual([...q.json().replicas].sort())
    expect(
      q
        .json()
        .explain.replicas.map((r: { increments: number }) => r.increments)
        .sort(),
    ).toEqual([1, 2])
    for (const bad of ['yes', '2']) {
      const r = await app.inject(`/counters/why?explain=${bad}`)
      expect(r.statusCode).toBe(400)
      expect(r.json().error.code).toBe('TALLY_BAD_REQUEST')
    }
  })

  it('an Idempotency-Key retried through the gateway reaches the same node and counts once', async () => {
    app = await gw()
    const nodesSeen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/counters/idem/increment',
        payload: { amount: 5 },
        headers: { 'idempotency-key': 'same-key-1' },
      })
      expect(r.statusCode, r.body).toBe(200)
      nodesSeen.add(r.json().node)
    }
    expect(nodesSeen.size).toBe(1)
    await until(
      async () =>
        (await app!.inject({ method: 'GET', url: '/counters/idem?consistency=all' })).json().value === 5,
      { what: 'idem = 5 everywhere', timeoutMs: 10_000 },
    )
    const r = await app.inject({ method: 'GET', url: '/counters/idem?consistency=all' })
    expect(r.json().value).toBe(5)
  })

  it('one of five nodes killed mid-load: zero client errors, every node counts each acknowledged write exactly once', async () => {
    app = await gw()
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as AddressInfo).port
    const { expected, errors } = await writeLoadWithKill(`http://127.0.0.1:${port}`, {
      requests: 800,
      connections: 8,
      maxAmount: 5,
      killAfter: 200,
      kill: () => nodes[2]!.kill(),
    })
    expect(errors).toEqual([])
    // Restart n3: its WAL brings back what it acknowledged but had not yet pushed to a peer, so
    // nothing acknowledged is lost. It may also bring back a write it made durable but never
    // answered, which the gateway retried on another node (same generated key, Tally-Attempt 2):
    // once that node learns n3's key record, it cancels its own application (README, Idempotency).
    await nodes[2]!.start()
    await everyNodeAt(nodes, 'load', expected)
    // And it stays exact (no late compensation overshoots): every node has gossiped since.
    await gossipRoundsPass(nodes.map((n) => n.url))
    expect(await valuesOf(nodes, 'load')).toEqual(nodes.map(() => expected))
  }, 60_000)

  it('over RESP: a node killed mid-load costs the client nothing and counts nothing twice', async () => {
    app = await gw()
    const resp = await respFor(app)
    const port = resp.port
    try {
      const { expected, errors } = await respLoadWithKill(port, {
        requests: 600,
        connections: 8,
        maxAmount: 5,
        killAfter: 150,
        kill: () => nodes[3]!.kill(),
      })
      expect(errors).toEqual([])
      await nodes[3]!.start()
      await everyNodeAt(nodes, 'load-resp', expected)
    } finally {
      await resp.close()
    }
  }, 60_000)

  it('503 TALLY_NO_NODES when every node is down; recovery when one returns', async () => {
    app = await gw({ requestTimeoutMs: 500, deadlineMs: 2000 })
    await Promise.all(nodes.map((n) => n.kill()))
    const w = await app.inject({ method: 'POST', url: '/increment' })
    expect(w.statusCode, w.body).toBe(503)
    expect(w.json().error.code).toBe('TALLY_NO_NODES')
    await until(async () => (await app!.inject({ method: 'GET', url: '/health' })).statusCode === 503, {
      what: 'health 503',
      timeoutMs: 15_000,
    })
    const r = await app.inject({ method: 'GET', url: '/counter' })
    expect(r.statusCode).toBe(503)
    expect(r.json().error.code).toBe('TALLY_NO_NODES')
    await nodes[0]!.start()
    await until(async () => (await app!.inject({ method: 'GET', url: '/health' })).statusCode === 200, {
      what: 'health 200',
      timeoutMs: 20_000,
    })
    const ok = await app.inject({ method: 'POST', url: '/increment' })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().node).toBe('n1')
  }, 120_000)
})
