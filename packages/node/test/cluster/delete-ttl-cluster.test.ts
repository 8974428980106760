// Deletes and TTLs across whole nodes over the in-memory transport: observed
// reset with a partitioned writer, convergence of a node that missed the
// delete, expiry on every node, TTL merges under skewed clocks, restarts.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(
  net: MemoryNetwork,
  n: number,
  extra: (i: number) => object = () => ({}),
): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], extra(i)))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'full membership',
    timeoutMs: 10_000,
  })
  return out
}

const at = (c: SimNode[], name: string, v: number): boolean => c.every((x) => x.node.value(name) === v)
const inc = (x: SimNode, name: string, amount = 1) => x.node.mutate({ name, op: 'increment', amount })

describe('delete across nodes', () => {
  it('a delete reads 0 on every node, leaves the listings, and the name counts from 0 again', async () => {
    const c = await cluster(new MemoryNetwork(5), 3)
    await Promise.all(c.map((x, i) => inc(x, 'gone', i + 1)))
    await inc(c[0]!, 'kept', 7)
    await until(() => at(c, 'gone', 6) && at(c, 'kept', 7), { what: 'writes everywhere', timeoutMs: 10_000 })

    const answer = await c[1]!.node.delete('gone')
    expect(answer).toEqual({ name: 'gone', deleted: true, value: 0 })
    await until(() => at(c, 'gone', 0), { what: 'the delete everywhere', timeoutMs: 10_000 })
    for (const x of c) {
      expect(x.node.names()).toEqual(['kept'])
      expect(x.node.exists('gone')).toBe(false)
    }
    // Deleting what is already deleted is not a deletion.
    expect((await c[2]!.node.delete('gone')).deleted).toBe(false)

    expect((await inc(c[2]!, 'gone', 2)).value).toBe(2)
    await until(() => at(c, 'gone', 2), { what: 'the reused name everywhere', timeoutMs: 10_000 })
    for (const x of c) expect(x.node.names()).toEqual(['gone', 'kept'])
  })

  it('increments made on a partitioned node during a delete survive it; the node that missed the delete converges', async () => {
    const net = new MemoryNetwork(9)
    const c = await cluster(net, 3)
    await Promise.all(c.map((x) => inc(x, 'hits', 10)))
    await until(() => at(c, 'hits', 30), { what: 'the first writes everywhere', timeoutMs: 10_000 })

    net.partition(['n1:1', 'n2:1'], ['n3:1'])
    const unseen = [inc(c[2]!, 'hits', 4), inc(c[2]!, 'hits', 1)]
    await c[0]!.node.delete('hits')
    await Promise.all(unseen)
    await until(() => c[1]!.node.value('hits') === 0, { what: 'the delete on n2', timeoutMs: 10_000 })
    expect(c[2]!.node.value('hits')).toBe(35) // n3 has not heard of it

    net.heal()
    // n1's 10, n2's 10 and n3's first 10 were observed by the delete; n3's 5 were not.
    await until(() => at(c, 'hits', 5), { what: 'convergence after the partition', timeoutMs: 15_000 })
    const digests = new Set(c.map((x) => x.node.lifecycle.marks.digest()))
    expect(digests.size).toBe(1)
  })

  it('anti-entropy alone (eager push lost) brings a delete to every node', async () => {
    const net = new MemoryNetwork(13)
    const c = await cluster(net, 3, () => ({ eagerPush: false }))
    await inc(c[0]!, 'x', 3)
    await until(() => at(c, 'x', 3), { what: 'the write everywhere', timeoutMs: 10_000 })
    net.dropRate = 1 // the delete's own messages are lost
    await c[0]!.node.delete('x')
    net.dropRate = 0.2
    await until(() => at(c, 'x', 0), { what: 'the delete by anti-entropy', timeoutMs: 15_000 })
  })

  it('a delete and a TTL survive a restart', async () => {
    const net = new MemoryNetwork(3)
    const store = new MemoryStore()
    let a = await startSim(net, 'a', [], {}, store)
    nodes.push(a)
    await inc(a, 'd', 5)
    await a.node.delete('d')
    await inc(a, 'd', 2)
    await inc(a, 't', 1)
    await a.node.expire('t', 60_000)
    await a.node.stop()
    a = await startSim(net, 'a', [], {}, store)
    nodes.push(a)
    expect(a.node.value('d')).toBe(2)
    expect(a.node.ttlMs('t')).toBeGreaterThan(50_000)
    // Again after a snapshot has folded the log.
    await a.node.snapshot()
    await a.node.stop()
    a = await startSim(net, 'a', [], {}, store)
    nodes.push(a)
    expect(a.node.value('d')).toBe(2)
    expect(a.node.ttlMs('t')).toBeGreaterThan(50_000)
  })
})

describe('TTL across nodes', () => {
  it('a counter expires on every node and then counts from 0', async () => {
    const c = await cluster(new MemoryNetwork(21), 3)
    await Promise.all(c.map((x) => inc(x, 'win', 3)))
    await until(() => at(c, 'win', 9), { what: 'the writes everywhere', timeoutMs: 10_000 })
    await c[0]!.node.expire('win', 300)
    await until(() => c.every((x) => x.node.ttlMs('win') !== undefined), {
      what: 'the TTL everywhere',
      timeoutMs: 10_000,
    })
    await until(() => at(c, 'win', 0), { what: 'the expiry everywhere', timeoutMs: 10_000 })
    for (const x of c) {
      expect(x.node.exists('win')).toBe(false)
      expect(x.node.ttlMs('win')).toBeUndefined()
    }
    await inc(c[1]!, 'win', 1)
    await until(() => at(c, 'win', 1), { what: 'counting again', timeoutMs: 10_000 })
    for (const x of c) expect(x.node.ttlMs('win')).toBeUndefined() // the expired TTL is not carried over
  })

  it('with skewed clocks, a TTL set after seeing another one wins (hybrid stamps), and expires everywhere', async () => {
    // n2's clock runs 5 s ahead of n1's; n3's 2 s behind.
    const skew = [0, 5_000, -2_000]
    const c = await cluster(new MemoryNetwork(17), 3, (i) => ({ now: () => Date.now() + (skew[i - 1] ?? 0) }))
    await inc(c[0]!, 'k', 4)
    await until(() => at(c, 'k', 4), { what: 'the write everywhere', timeoutMs: 10_000 })
    await c[1]!.node.expire('k', 3_600_000)
    await until(() => c.every((x) => (x.node.ttlMs('k') ?? 0) > 3_000_000), {
      what: "n2's TTL everywhere",
      timeoutMs: 10_000,
    })
    // n1's wall clock is 5 s behind n2's stamp: only the hybrid clock makes its later change win.
    await c[0]!.node.expire('k', 400)
    const n1 = c[0]!.node.identity.replicaId
    await until(() => c.every((x) => x.node.lifecycle.marks.ttl('k')?.setBy === n1), {
      what: "n1's shorter TTL everywhere",
      timeoutMs: 10_000,
    })
    await until(() => at(c, 'k', 0), { what: 'the expiry everywhere', timeoutMs: 15_000 })
  })

  it('PERSIST removes a TTL on every node', async () => {
    const c = await cluster(new MemoryNetwork(23), 2)
    await inc(c[0]!, 'p', 2)
    await c[0]!.node.expire('p', 60_000)
    await until(() => c.every((x) => x.node.ttlMs('p') !== undefined), { what: 'the TTL', timeoutMs: 10_000 })
    expect((await c[1]!.node.persist('p')).changed).toBe(true)
    await until(() => c.every((x) => x.node.ttlMs('p') === undefined), { what: 'PERSIST', timeoutMs: 10_000 })
    expect((await c[1]!.node.persist('p')).changed).toBe(false)
    expect(at(c, 'p', 2)).toBe(true)
  })
})
