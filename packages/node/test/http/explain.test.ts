// GET /counters/:name?explain=1 on a two-node in-memory cluster, through
// app.inject: per-replica totals, when each replica was last merged, when
// each peer was last in sync, and the staleness bound.
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import type { Explained } from '../../src/http/explain.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { allAt, gossipRoundsPass, type SimNode, startSim } from '../support/sim.js'

let a: SimNode
let b: SimNode
let app: FastifyInstance

beforeAll(async () => {
  const net = new MemoryNetwork(3)
  a = await startSim(net, 'ea', [])
  b = await startSim(net, 'eb', ['ea:1'])
  app = buildApp({ node: a.node })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await Promise.allSettled([a.node.stop(), b.node.stop()])
})

describe('explained reads', () => {
  it('reports each replica’s totals, its last merge, and each peer’s last sync', async () => {
    await a.node.mutate({ name: 'x', op: 'increment', amount: 5 })
    await b.node.mutate({ name: 'x', op: 'increment', amount: 7 })
    await b.node.mutate({ name: 'x', op: 'decrement', amount: 2 })
    await until(() => allAt([a, b], 'x', 10), { what: 'convergence', timeoutMs: 10_000 })
    await gossipRoundsPass([a, b], 3)
    const res = await app.inject('/counters/x?explain=1')
    expect(res.statusCode).toBe(200)
    const body = res.json() as { name: string; value: number; explain: Explained }
    expect(body.name).toBe('x')
    expect(body.value).toBe(10)
    const ex = body.explain
    expect(ex.node).toBe('ea')
    const mine = ex.replicas.find((r) => r.self)
    const theirs = ex.replicas.find((r) => !r.self)
    expect(mine).toMatchObject({
      replica: a.node.identity.replicaId,
      increments: 5,
      decrements: 0,
      lastMergedAt: null,
    })
    expect(theirs).toMatchObject({ replica: b.node.identity.replicaId, increments: 7, decrements: 2 })
    expect(theirs?.lastMergedMsAgo).toBeGreaterThanOrEqual(0)
    expect(ex.peers).toHaveLength(1)
    expect(ex.peers[0]).toMatchObject({ id: 'eb', state: 'live' })
    expect(ex.peers[0]?.inSyncMsAgo).toBeGreaterThanOrEqual(0)
    expect(ex.stalenessBoundMs).toBe(ex.peers[0]?.inSyncMsAgo)
  })

  it('explain=0 and no explain answer the plain read', async () => {
    expect(Object.keys((await app.inject('/counters/x?explain=0')).json())).toEqual(['name', 'value'])
    expect(Object.keys((await app.inject('/counters/x')).json())).toEqual(['name', 'value'])
  })

  it.each(['yes', '2', '', 'TRUE'])('explain=%j is 400 TALLY_BAD_REQUEST', async (v) => {
    const res = await app.inject(`/counters/x?explain=${v}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('TALLY_BAD_REQUEST')
  })

  it('an unknown query parameter is 400 TALLY_BAD_REQUEST', async () => {
    expect((await app.inject('/counters/x?explian=1')).json().error.code).toBe('TALLY_BAD_REQUEST')
  })
})
