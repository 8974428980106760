// Rate-limit buckets across whole nodes over the in-memory transport: eager
// push spreads allowed hits, anti-entropy alone converges (and repairs loss),
// refused hits are never replicated, and a cluster that never uses limits
// sends no LIMITS frame.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { MsgType } from '../../src/wire/messages.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number, extra = {}): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], extra))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'full membership',
    timeoutMs: 10_000,
  })
  return out
}

const W = 60_000
const estimates = (c: SimNode[], name: string) =>
  c.map((n) => n.node.limits.table.estimate(name, W, Date.now()))
const digests = (c: SimNode[]) => new Set(c.map((n) => n.node.limits.table.digest()))

describe('rate limits across nodes (memory transport)', () => {
  it('allowed hits on every node reach every node; refused hits are not counted anywhere', async () => {
    const c = await cluster(new MemoryNetwork(5), 3)
    const hit = { limit: 1_000, windowMs: W, amount: 1 }
    await Promise.all(
      c.flatMap((n, i) => Array.from({ length: 10 * (i + 1) }, () => n.node.limits.hit('api', hit))),
    )
    await until(() => estimates(c, 'api').every((e) => e === 60), {
      what: 'every node sees 60 hits',
      timeoutMs: 10_000,
    })
    // Past the limit: a refusal on n1 leaves every node at the same count.
    const small = await c[0]!.node.limits.hit('api', { limit: 60, windowMs: W, amount: 1 })
    expect(small.allowed).toBe(false)
    await until(() => digests(c).size === 1, { what: 'equal limit digests', timeoutMs: 10_000 })
    expect(estimates(c, 'api')).toEqual([60, 60, 60])
  })

  it('with eager push off, anti-entropy alone converges, under loss and duplication', async () => {
    const net = new MemoryNetwork(9)
    const c = await cluster(net, 4, { eagerPush: false })
    net.dropRate = 0.3
    net.dupRate = 0.2
    await Promise.all(c.map((n, i) => n.node.limits.hit('x', { limit: 100, windowMs: W, amount: i + 1 })))
    await until(() => estimates(c, 'x').every((e) => e === 10), {
      what: 'anti-entropy convergence',
      timeoutMs: 20_000,
    })
    await until(() => digests(c).size === 1, { what: 'equal digests', timeoutMs: 10_000 })
  })

  it('a cluster that never takes a hit sends no LIMITS frame', async () => {
    const c = await cluster(new MemoryNetwork(3), 3)
    await c[0]!.node.mutate({ name: 'plain', op: 'increment', amount: 1 })
    await until(() => c.every((n) => n.node.map.value('plain') === 1), {
      what: 'counter spread',
      timeoutMs: 5_000,
    })
    const rounds = c[0]!.node.replicator.stats.rounds
    await until(() => c[0]!.node.replicator.stats.rounds > rounds + 5, { what: 'rounds', timeoutMs: 5_000 })
    for (const n of c) expect(n.node.messageCounts.out[MsgType.LIMITS]).toBe(0)
    // Once one limit is live, rounds carry its digest.
    await c[1]!.node.limits.hit('y', { limit: 5, windowMs: W, amount: 1 })
    await until(() => (c[1]!.node.messageCounts.out[MsgType.LIMITS] ?? 0) > 0, {
      what: 'a LIMITS frame',
      timeoutMs: 5_000,
    })
  })
})
