// Deletes and TTL changes at ?consistency=quorum|all across whole nodes over
// the in-memory transport: the pull before the reset (a write that reached
// only a quorum is removed by a quorum delete on the node it missed), the
// concurrent write of a partitioned replica that survives, the timeout that
// changes nothing, and keyed retries on another replica.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number, extra: object = {}): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], extra))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'full membership',
    timeoutMs: 10_000,
  })
  return out
}

const at = (c: SimNode[], name: string, v: number): boolean => c.every((x) => x.node.value(name) === v)
const inc = (x: SimNode, name: string, amount: number, consistency: 'one' | 'quorum' = 'one') =>
  x.node.mutate({ name, op: 'increment', amount, consistency })

describe('delete and TTL at quorum', () => {
  it('a quorum delete on the node a quorum write missed removes the write everywhere', async () => {
    const net = new MemoryNetwork(21)
    const c = await cluster(net, 3)
    const [n1, , n3] = c as [SimNode, SimNode, SimNode]
    net.partition(['n3:1'], ['n1:1', 'n2:1'])
    expect((await inc(n1, 'q', 5, 'quorum')).value).toBe(5) // n1 and n2 hold it
    expect(n3.node.value('q')).toBe(0)
    net.heal()
    // Called in the same turn as the heal: nothing has reached n3 yet but its own pull's answers.
    const answer = await n3.node.delete('q', undefined, 'quorum')
    expect(answer).toEqual({ name: 'q', deleted: true, value: 0 })
    expect(n3.node.value('q')).toBe(0)
    expect(n3.node.resets.stats.pullsOut).toBe(2)
    expect(n3.node.resets.stats.statesMerged).toBeGreaterThanOrEqual(1)
    await until(() => at(c, 'q', 0) && c.every((x) => !x.node.exists('q')), {
      what: 'the delete everywhere',
      timeoutMs: 10_000,
    })
  })

  it("a partitioned replica's concurrent increment survives a quorum delete", async () => {
    const net = new MemoryNetwork(22)
    const c = await cluster(net, 3)
    const [n1, n2, n3] = c as [SimNode, SimNode, SimNode]
    await Promise.all(c.map((x) => inc(x, 'hits', 10)))
    await until(() => at(c, 'hits', 30), { what: 'the first writes everywhere', timeoutMs: 10_000 })
    net.partition(['n3:1'], ['n1:1', 'n2:1'])
    await inc(n3, 'hits', 4)
    expect((await n1.node.delete('hits', undefined, 'quorum')).deleted).toBe(true)
    expect(n2.node.value('hits')).toBe(0) // n2 held the mark before n1 answered
    net.heal()
    await until(() => at(c, 'hits', 4), { what: "n3's 4 on every node", timeoutMs: 15_000 })
  })

  it('too few replicas to pull from: 504 TALLY_QUORUM_TIMEOUT and nothing deleted', async () => {
    const net = new MemoryNetwork(23)
    const c = await cluster(net, 3, { quorumTimeoutMs: 300 })
    const [n1] = c as [SimNode]
    await inc(n1, 'kept', 7)
    net.partition(['n1:1'], ['n2:1', 'n3:1'])
    const err = await n1.node.delete('kept', undefined, 'quorum').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TALLY_QUORUM_TIMEOUT', details: { confirmed: 1, required: 2 } })
    expect(n1.node.value('kept')).toBe(7)
    expect(n1.node.lifecycle.marks.has('kept')).toBe(false)
    const ttl = await n1.node.expire('kept', 60_000, undefined, 'all').catch((e: unknown) => e)
    expect(ttl).toMatchObject({ code: 'TALLY_QUORUM_TIMEOUT', details: { required: 3 } })
    expect(n1.node.ttlMs('kept')).toBeUndefined()
  })

  it('a TTL set at quorum on a node that has not got the counter yet works (404 at one)', async () => {
    const net = new MemoryNetwork(24)
    const c = await cluster(net, 3)
    const [n1, , n3] = c as [SimNode, SimNode, SimNode]
    net.partition(['n3:1'], ['n1:1', 'n2:1'])
    await inc(n1, 't', 3, 'quorum')
    await expect(n3.node.expire('t', 60_000)).rejects.toMatchObject({ code: 'TALLY_COUNTER_NOT_FOUND' })
    net.heal()
    const answer = await n3.node.expire('t', 60_000, undefined, 'quorum')
    expect(answer).toEqual({ name: 't', ttlMs: 60_000, changed: true })
    expect(n3.node.value('t')).toBe(3)
    await until(() => c.every((x) => (x.node.ttlMs('t') ?? 0) > 0), {
      what: 'the TTL everywhere',
      timeoutMs: 10_000,
    })
  })
})

describe('keyed deletes and TTL changes on another replica', () => {
  it('a retry at one on another replica answers from the replicated record and deletes nothing more', async () => {
    const net = new MemoryNetwork(25)
    const c = await cluster(net, 3)
    const [n1, n2] = c as [SimNode, SimNode]
    await inc(n1, 'k', 5)
    await until(() => at(c, 'k', 5), { what: 'the write everywhere', timeoutMs: 10_000 })
    const first = await n1.node.delete('k', 'del-1')
    expect(first).toEqual({ name: 'k', deleted: true, value: 0 })
    await until(() => n2.node.lifecycle.answerFor('del-1') !== undefined, {
      what: 'the answer on n2',
      timeoutMs: 10_000,
    })
    await inc(n2, 'k', 3)
    expect(await n2.node.delete('k', 'del-1')).toEqual(first)
    await until(() => at(c, 'k', 3), { what: 'the later write everywhere', timeoutMs: 10_000 })
    await expect(n2.node.persist('k', 'del-1')).rejects.toMatchObject({ code: 'TALLY_IDEMPOTENCY_MISMATCH' })
  })

  it('a quorum retry on a replica the first try missed learns the answer from the pull', async () => {
    const net = new MemoryNetwork(26)
    const c = await cluster(net, 3)
    const [n1, , n3] = c as [SimNode, SimNode, SimNode]
    await inc(n1, 'r', 10)
    await until(() => at(c, 'r', 10), { what: 'the write everywhere', timeoutMs: 10_000 })
    net.partition(['n3:1'], ['n1:1', 'n2:1'])
    const first = await n1.node.delete('r', 'del-2', 'quorum')
    expect(first.deleted).toBe(true)
    await inc(n3, 'r', 2) // concurrent with the delete: survives it
    net.heal()
    expect(n3.node.lifecycle.answerFor('del-2')).toBeUndefined()
    expect(await n3.node.delete('r', 'del-2', 'quorum')).toEqual(first)
    await until(() => at(c, 'r', 2), { what: "n3's 2 on every node", timeoutMs: 15_000 })
  })
})

describe('delete and TTL at all with a member down', () => {
  it('answer TALLY_QUORUM_UNAVAILABLE at once, naming the member, with nothing pulled or changed; quorum still works', async () => {
    const net = new MemoryNetwork(25)
    // A pull that went out would end, after this, in TALLY_QUORUM_TIMEOUT instead.
    const c = await cluster(net, 3, { quorumTimeoutMs: 1_000 })
    const [n1] = c as [SimNode]
    await inc(n1, 'd', 4)
    net.partition(['n3:1'], ['n1:1', 'n2:1'])
    await until(() => n1.node.membership.counts().dead === 1, { what: 'n3 dead at n1', timeoutMs: 15_000 })
    const pulls = n1.node.resets.stats.pullsOut
    const err = await n1.node.delete('d', undefined, 'all').catch((e: unknown) => e)
    expect(err).toMatchObject({
      code: 'TALLY_QUORUM_UNAVAILABLE',
      details: { required: 3, reachable: 2, down: 'n3' },
    })
    expect((err as Error).message).toMatch(/consistency=quorum/)
    const ttl = await n1.node.expire('d', 60_000, undefined, 'all').catch((e: unknown) => e)
    expect(ttl).toMatchObject({ code: 'TALLY_QUORUM_UNAVAILABLE' })
    expect([n1.node.resets.stats.pullsOut, n1.node.value('d'), n1.node.lifecycle.marks.has('d')]).toEqual([
      pulls,
      4,
      false,
    ])
    expect(await n1.node.delete('d', undefined, 'quorum')).toEqual({ name: 'd', deleted: true, value: 0 })
  }, 30_000)
})
