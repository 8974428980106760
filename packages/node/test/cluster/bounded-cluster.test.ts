// Bounded counters across whole nodes over the in-memory transport: rights
// move on demand, the value never goes below zero in any node's view, a
// partitioned side without rights refuses, and everything converges.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { isNodeError } from '../../src/errors.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number, extra = {}): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++)
    out.push(
      await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], {
        boundedStore: new MemoryBoundedStore(),
        boundedTransferTimeoutMs: 300,
        ...extra,
      }),
    )
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'full membership',
    timeoutMs: 5000,
  })
  return out
}

const valueAt = (n: SimNode, name: string): number => n.node.bounded.view(name).value
const allAt = (c: SimNode[], name: string, v: number): boolean => c.every((n) => valueAt(n, name) === v)

async function stock(c: SimNode[], name: string, each: number): Promise<void> {
  for (const n of c) await n.node.bounded.mutate({ name, op: 'increment', amount: each })
  await until(() => allAt(c, name, each * c.length), { what: 'stock replicated', timeoutMs: 5000 })
}

describe('bounded counters over the memory transport', () => {
  it('rights stay where increments happen; a decrement larger than local rights gets them from peers', async () => {
    const c = await cluster(new MemoryNetwork(3), 3)
    await stock(c, 'seats', 100)
    const [a, b] = c as [SimNode, SimNode, SimNode]
    expect(a.node.bounded.view('seats').rights).toEqual({ 'n1.1': 100, 'n2.1': 100, 'n3.1': 100 })
    const r = await a.node.bounded.mutate({ name: 'seats', op: 'decrement', amount: 250 })
    expect(r).toEqual({ name: 'seats', value: 50 })
    await until(() => allAt(c, 'seats', 50), { what: 'convergence at 50', timeoutMs: 5000 })
    expect(a.node.boundedReplication.stats.rightsIn).toBeGreaterThanOrEqual(150)
    // The cluster holds 50: 51 is refused everywhere, with the facts in the error.
    const err = await b.node.bounded
      .mutate({ name: 'seats', op: 'decrement', amount: 51 })
      .catch((e: unknown) => e)
    expect(isNodeError(err, 'TALLY_BOUND_EXCEEDED')).toBe(true)
    const details = (err as { details: Record<string, unknown> }).details
    expect(details.value).toBe(50)
    expect(details.requested).toBe(51)
    expect(typeof details.localRights).toBe('number')
    await until(() => allAt(c, 'seats', 50), { what: 'the refusal changed nothing', timeoutMs: 5000 })
  })

  it('600 concurrent decrements of 1 over three nodes: never negative, at most 300 succeed, all end at 300 − successes', async () => {
    const c = await cluster(new MemoryNetwork(9), 3)
    await stock(c, 'stock', 100)
    let negative = 0
    const poll = setInterval(() => {
      for (const n of c) if (valueAt(n, 'stock') < 0) negative++
    }, 1)
    const ops: Promise<boolean>[] = []
    for (let i = 0; i < 600; i++) {
      const n = c[i % 3]!
      ops.push(
        n.node.bounded.mutate({ name: 'stock', op: 'decrement', amount: 1 }).then(
          () => true,
          (err: unknown) => {
            if (!isNodeError(err, 'TALLY_BOUND_EXCEEDED')) throw err
            return false
          },
        ),
      )
    }
    const ok = (await Promise.all(ops)).filter(Boolean).length
    clearInterval(poll)
    expect(negative).toBe(0)
    expect(ok).toBeLessThanOrEqual(300)
    expect(ok).toBeGreaterThanOrEqual(250)
    await until(() => allAt(c, 'stock', 300 - ok), { what: `every node at ${300 - ok}`, timeoutMs: 10_000 })
  })

  it('during a partition the side without rights refuses; after it heals, rights move again', async () => {
    const net = new MemoryNetwork(5)
    const c = await cluster(net, 3)
    const [a, , z] = c as [SimNode, SimNode, SimNode]
    await z.node.bounded.mutate({ name: 'quota', op: 'increment', amount: 10 })
    await until(() => allAt(c, 'quota', 10), { what: 'quota replicated', timeoutMs: 5000 })
    net.partition(['n1:1', 'n2:1'], ['n3:1'])
    const err = await a.node.bounded
      .mutate({ name: 'quota', op: 'decrement', amount: 1 })
      .catch((e: unknown) => e)
    expect(isNodeError(err, 'TALLY_BOUND_EXCEEDED')).toBe(true)
    expect((err as { details: Record<string, unknown> }).details.holder).toBe('n3')
    // The side holding the rights keeps selling.
    await z.node.bounded.mutate({ name: 'quota', op: 'decrement', amount: 4 })
    net.heal()
    await until(
      () =>
        a.node.bounded.mutate({ name: 'quota', op: 'decrement', amount: 6 }).then(
          () => true,
          () => false,
        ),
      { what: 'decrement after the heal', timeoutMs: 10_000 },
    )
    await until(() => allAt(c, 'quota', 0), { what: 'convergence at 0', timeoutMs: 5000 })
  })

  it('a node that missed every push converges by the digest repair', async () => {
    const net = new MemoryNetwork(4)
    const c = await cluster(net, 2, { eagerPush: false })
    const [a, b] = c as [SimNode, SimNode]
    await a.node.bounded.mutate({ name: 'x', op: 'increment', amount: 7 })
    await b.node.bounded.mutate({ name: 'y', op: 'increment', amount: 3 })
    await until(() => valueAt(b, 'x') === 7 && valueAt(a, 'y') === 3, { what: 'repair', timeoutMs: 5000 })
    expect(a.node.bounded.map.digest()).toBe(b.node.bounded.map.digest())
  })

  it('a restarted node keeps its counters, rights and key records', async () => {
    const net = new MemoryNetwork(6)
    const store = new MemoryBoundedStore()
    const sim = await startSim(net, 'solo', [], { boundedStore: store })
    nodes.push(sim)
    await sim.node.bounded.mutate({ name: 'k', op: 'increment', amount: 5 })
    await sim.node.bounded.mutate({ name: 'k', op: 'decrement', amount: 2, key: 'key-1' })
    await sim.node.stop()
    const again = await startSim(net, 'solo', [], { boundedStore: store }, sim.store)
    nodes.push(again)
    expect(again.node.bounded.view('k')).toEqual({ name: 'k', value: 3, rights: { 'solo.1': 3 } })
    // The key's first answer stands, and nothing changes.
    await expect(
      again.node.bounded.mutate({ name: 'k', op: 'decrement', amount: 2, key: 'key-1' }),
    ).resolves.toEqual({
      name: 'k',
      value: 3,
    })
    expect(again.node.bounded.view('k').value).toBe(3)
  })
})
