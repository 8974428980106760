// Whole nodes over the in-memory transport: multi-node scenarios in seconds.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { toHttp } from '../../src/http/error-status.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { allAt, type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number, extra = {}): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], extra))
  nodes.push(...out)
  return out
}

describe('cluster over the memory transport', () => {
  it('concurrent increments on 3 nodes converge to the exact total', async () => {
    const net = new MemoryNetwork(7)
    const c = await cluster(net, 3)
    await until(() => c.every((n) => n.node.membership.counts().live === 2), {
      what: 'full membership',
      timeoutMs: 5000,
    })
    const ops: Promise<unknown>[] = []
    for (let k = 0; k < 100; k++) {
      for (const [i, n] of c.entries()) {
        ops.push(n.node.mutate({ name: 'hits', op: 'increment', amount: i + 1 }))
        if (k % 10 === 0) ops.push(n.node.mutate({ name: 'hits', op: 'decrement', amount: 1 }))
      }
    }
    await Promise.all(ops)
    // 100 × (1+2+3) − 10 × 3
    await until(() => allAt(c, 'hits', 570), { what: 'convergence', timeoutMs: 5000 })
    expect(new Set(c.map((n) => n.node.map.digest())).size).toBe(1)
  })

  it('converges despite 30% message loss and duplication (anti-entropy repairs)', async () => {
    const net = new MemoryNetwork(11)
    const c = await cluster(net, 4)
    net.dropRate = 0.3
    net.dupRate = 0.2
    await Promise.all(c.map((n, i) => n.node.mutate({ name: 'x', op: 'increment', amount: 10 ** i })))
    await until(() => allAt(c, 'x', 1111), { what: 'convergence under loss', timeoutMs: 10_000 })
  })

  it('with eager push off, anti-entropy alone converges', async () => {
    const net = new MemoryNetwork(3)
    const c = await cluster(net, 3, { eagerPush: false })
    await c[0]!.node.mutate({ name: 'a', op: 'increment', amount: 5 })
    await c[2]!.node.mutate({ name: 'a', op: 'decrement', amount: 2 })
    await until(() => allAt(c, 'a', 3), { what: 'anti-entropy convergence', timeoutMs: 5000 })
  })

  it('a late joiner learns the whole cluster from one contact and catches up', async () => {
    const net = new MemoryNetwork(5)
    const c = await cluster(net, 3)
    for (const n of c) await n.node.mutate({ name: 'old', op: 'increment', amount: 7 })
    await until(() => allAt(c, 'old', 21), { what: 'initial convergence', timeoutMs: 5000 })
    const late = await startSim(net, 'late', ['n3:1'])
    nodes.push(late)
    await until(() => late.node.map.value('old') === 21, { what: 'late joiner catch-up', timeoutMs: 5000 })
    await until(() => late.node.membership.counts().live === 3, {
      what: 'late joiner learns every member',
      timeoutMs: 5000,
    })
  })

  it('a late joiner catches up a state too big for one frame (sent in parts)', async () => {
    const net = new MemoryNetwork(23)
    const [a] = await cluster(net, 1)
    const writes: Promise<unknown>[] = []
    for (let i = 0; i < 45_000; i++)
      writes.push(a!.node.mutate({ name: `c${i}`, op: 'increment', amount: 1 }))
    await Promise.all(writes)
    const late = await startSim(net, 'late', ['n1:1'])
    nodes.push(late)
    await until(() => late.node.map.digest() === a!.node.map.digest(), {
      what: 'catch-up of 45k counters',
      timeoutMs: 20_000,
    })
    expect(late.node.map.summary()).toEqual(a!.node.map.summary())
    expect(late.node.replicator.stats.pushesIn).toBeGreaterThanOrEqual(3) // 45k entries in parts of 20k
  })

  it('idempotency records survive a restart: a retry after it does not count again', async () => {
    const net = new MemoryNetwork(29)
    const [a] = await cluster(net, 1)
    expect(await a!.node.mutate({ name: 'i', op: 'increment', amount: 5, key: 'once' })).toEqual({
      name: 'i',
      value: 5,
    })
    await a!.node.stop()
    nodes = []
    const back = await startSim(net, 'n1', [], {}, a!.store)
    nodes.push(back)
    expect(await back.node.mutate({ name: 'i', op: 'increment', amount: 5, key: 'once' })).toEqual({
      name: 'i',
      value: 5,
    })
    expect(back.node.map.value('i')).toBe(5)
    await expect(
      back.node.mutate({ name: 'i', op: 'increment', amount: 6, key: 'once' }),
    ).rejects.toMatchObject({
      code: 'TALLY_IDEMPOTENCY_MISMATCH',
    })
  })

  it('partition then heal: both sides keep accepting writes and converge', async () => {
    const net = new MemoryNetwork(9)
    const c = await cluster(net, 4)
    await until(() => c.every((n) => n.node.membership.counts().live === 3), {
      what: 'membership',
      timeoutMs: 5000,
    })
    net.partition(['n1:1', 'n2:1'], ['n3:1', 'n4:1'])
    await c[0]!.node.mutate({ name: 'p', op: 'increment', amount: 100 })
    await c[3]!.node.mutate({ name: 'p', op: 'increment', amount: 1 })
    await until(() => c[1]!.node.map.value('p') === 100 && c[2]!.node.map.value('p') === 1, {
      what: 'sides converge',
      timeoutMs: 5000,
    })
    expect(c[0]!.node.map.value('p')).toBe(100)
    net.heal()
    await until(() => allAt(c, 'p', 101), { what: 'heal convergence', timeoutMs: 10_000 })
  })

  it('a node removed and re-added (same store) catches up and keeps its counts', async () => {
    const net = new MemoryNetwork(13)
    const c = await cluster(net, 3)
    await c[2]!.node.mutate({ name: 'r', op: 'increment', amount: 4 })
    await until(() => allAt(c, 'r', 4), { what: 'first convergence', timeoutMs: 5000 })
    const store = c[2]!.store
    await c[2]!.node.stop()
    nodes = nodes.filter((n) => n !== c[2])
    await c[0]!.node.mutate({ name: 'r', op: 'increment', amount: 10 })
    await until(() => c[0]!.node.membership.list().find((p) => p.id === 'n3')?.state === 'dead', {
      what: 'n3 seen leaving',
      timeoutMs: 5000,
    })
    const back = await startSim(net, 'n3', ['n1:1'], {}, store)
    nodes.push(back)
    expect(back.node.identity.replicaId).toBe(c[2]!.node.identity.replicaId)
    await until(() => allAt([c[0]!, c[1]!, back], 'r', 14), {
      what: 're-added convergence',
      timeoutMs: 10_000,
    })
    await until(() => c[0]!.node.membership.list().find((p) => p.id === 'n3')?.state === 'live', {
      what: 'n3 live again',
      timeoutMs: 10_000,
    })
  })

  it('a node that lost its data dir comes back as a new replica without losing or doubling counts', async () => {
    const net = new MemoryNetwork(17)
    const c = await cluster(net, 3)
    await c[1]!.node.mutate({ name: 'w', op: 'increment', amount: 3 })
    await until(() => allAt(c, 'w', 3), { what: 'first convergence', timeoutMs: 5000 })
    await c[1]!.node.stop()
    nodes = nodes.filter((n) => n !== c[1])
    c[1]!.store.wipe()
    const back = await startSim(net, 'n2', ['n1:1'], {}, c[1]!.store)
    nodes.push(back)
    expect(back.node.identity.replicaId).not.toBe(c[1]!.node.identity.replicaId)
    await back.node.mutate({ name: 'w', op: 'increment', amount: 1 })
    await until(() => allAt([c[0]!, back, c[2]!], 'w', 4), {
      what: 'convergence after wipe',
      timeoutMs: 10_000,
    })
  })

  it('quorum writes wait for acks; with the peers cut off they time out with 504 and still count once', async () => {
    const net = new MemoryNetwork(21)
    const c = await cluster(net, 3, { quorumTimeoutMs: 1000 })
    await until(() => c.every((n) => n.node.membership.counts().live === 2), {
      what: 'membership',
      timeoutMs: 5000,
    })
    await expect(
      c[0]!.node.mutate({ name: 'q', op: 'increment', amount: 1, consistency: 'all' }),
    ).resolves.toEqual({
      name: 'q',
      value: 1,
    })
    // Acked by all means durably applied everywhere, right now.
    expect(c[1]!.node.map.value('q')).toBe(1)
    expect(c[2]!.node.map.value('q')).toBe(1)
    net.partition(['n1:1'], ['n2:1', 'n3:1'])
    const err = await c[0]!.node
      .mutate({ name: 'q', op: 'increment', amount: 1, consistency: 'quorum', key: 'k1' })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TALLY_QUORUM_TIMEOUT', details: { confirmed: 1, required: 2 } })
    expect(toHttp(err)).toMatchObject({ status: 504, body: { error: { confirmed: 1, required: 2 } } })
    // A retry with the same key does not count again.
    await c[0]!.node.mutate({ name: 'q', op: 'increment', amount: 1, key: 'k1' })
    net.heal()
    await until(() => allAt(c, 'q', 2), { what: 'convergence after quorum timeout', timeoutMs: 10_000 })
  })
})
