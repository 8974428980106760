// Keyed bounded writes are exactly-once across replicas: the key record of a
// write travels with its counter's state (eager push, and the digest repair
// for a node that missed the push), is logged by the receiver, and answers a
// retry of the key there without applying it again.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { isNodeError } from '../../src/errors.js'
import { toKeyTuple } from '../../src/wire/key-tuples.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
// The bounded log of each node started by pair(), by node id (a restart reopens it).
const logs = new Map<string, MemoryBoundedStore>()
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
  logs.clear()
})

async function pair(net: MemoryNetwork, extra = {}): Promise<[SimNode, SimNode]> {
  for (const id of ['n1', 'n2']) logs.set(id, new MemoryBoundedStore())
  const opts = (id: string) => ({ boundedStore: logs.get(id)!, boundedTransferTimeoutMs: 300, ...extra })
  const a = await startSim(net, 'n1', [], opts('n1'))
  const b = await startSim(net, 'n2', ['n1:1'], opts('n2'))
  nodes.push(a, b)
  await until(() => a.node.membership.counts().live === 1 && b.node.membership.counts().live === 1, {
    what: 'membership',
    timeoutMs: 5000,
  })
  return [a, b]
}

const valueAt = (n: SimNode, name: string): number => n.node.bounded.view(name).value
const knowsKey = (n: SimNode, key: string): boolean => n.node.bounded.keys.ledger.applications(key).length > 0

// A stocks 10 units, then sells 3 with key order-1 (acknowledged: value 7).
async function sellOnA(a: SimNode, b: SimNode): Promise<void> {
  await a.node.bounded.mutate({ name: 'stock', op: 'increment', amount: 10 })
  await until(() => valueAt(b, 'stock') === 10, { what: 'stock at B', timeoutMs: 5000 })
  const first = await a.node.bounded.mutate({ name: 'stock', op: 'decrement', amount: 3, key: 'order-1' })
  expect(first).toEqual({ name: 'stock', value: 7 })
}

describe('keyed bounded writes across replicas', () => {
  it('a retry (attempt 2) on another node after replication gets the first answer and counts once', async () => {
    const [a, b] = await pair(new MemoryNetwork(11))
    await sellOnA(a, b)
    await until(() => knowsKey(b, 'order-1') && valueAt(b, 'stock') === 7, {
      what: 'the key record at B',
      timeoutMs: 5000,
    })
    const retry = await b.node.bounded.mutate({
      name: 'stock',
      op: 'decrement',
      amount: 3,
      key: 'order-1',
      attempt: 2,
    })
    expect(retry).toEqual({ name: 'stock', value: 7 })
    expect(valueAt(b, 'stock')).toBe(7)
    expect(b.node.bounded.keys.stats.answeredFromPeers).toBe(1)
    expect(b.node.bounded.stats.decrements).toBe(0)
    // The same key with another request is refused, as plain keyed writes are.
    const err = await b.node.bounded
      .mutate({ name: 'stock', op: 'decrement', amount: 4, key: 'order-1', attempt: 2 })
      .catch((e: unknown) => e)
    expect(isNodeError(err, 'TALLY_IDEMPOTENCY_MISMATCH')).toBe(true)
    await until(() => valueAt(a, 'stock') === 7 && valueAt(b, 'stock') === 7, {
      what: 'both at 7',
      timeoutMs: 5000,
    })
  })

  it('a node that missed the push learns the record by the digest repair', async () => {
    const net = new MemoryNetwork(12)
    const [a, b] = await pair(net)
    await a.node.bounded.mutate({ name: 'stock', op: 'increment', amount: 10 })
    await until(() => valueAt(b, 'stock') === 10, { what: 'stock at B', timeoutMs: 5000 })
    net.partition(['n1:1'], ['n2:1'])
    const first = await a.node.bounded.mutate({ name: 'stock', op: 'decrement', amount: 3, key: 'order-1' })
    expect(first).toEqual({ name: 'stock', value: 7 })
    expect(knowsKey(b, 'order-1')).toBe(false)
    net.heal()
    await until(() => knowsKey(b, 'order-1'), { what: 'the key record at B by repair', timeoutMs: 10_000 })
    expect(a.node.boundedReplication.stats.rounds).toBeGreaterThan(0)
    const retry = await b.node.bounded.mutate({
      name: 'stock',
      op: 'decrement',
      amount: 3,
      key: 'order-1',
      attempt: 2,
    })
    expect(retry).toEqual({ name: 'stock', value: 7 })
    await until(() => valueAt(a, 'stock') === 7 && valueAt(b, 'stock') === 7, {
      what: 'both at 7',
      timeoutMs: 5000,
    })
  })

  it('a restarted node keeps a learnt record and answers from it, even cut off from its maker', async () => {
    const net = new MemoryNetwork(13)
    const [a, b] = await pair(net)
    await sellOnA(a, b)
    await until(() => knowsKey(b, 'order-1') && valueAt(b, 'stock') === 7, {
      what: 'the key record at B',
      timeoutMs: 5000,
    })
    await b.node.stop()
    // Cut off from A: only B's own log can answer the retry (else it would ask A for rights and refuse).
    net.partition(['n1:1'], ['n2:1'])
    const again = await startSim(
      net,
      'n2',
      ['n1:1'],
      { boundedStore: logs.get('n2')!, boundedTransferTimeoutMs: 300 },
      b.store,
    )
    nodes.push(again)
    expect(valueAt(again, 'stock')).toBe(7)
    expect(knowsKey(again, 'order-1')).toBe(true)
    const retry = await again.node.bounded.mutate({
      name: 'stock',
      op: 'decrement',
      amount: 3,
      key: 'order-1',
      attempt: 2,
    })
    expect(retry).toEqual({ name: 'stock', value: 7 })
    expect(valueAt(again, 'stock')).toBe(7)
  })

  it('a B_PUSH with a bad key record is refused whole and counted; nothing is merged', async () => {
    const net = new MemoryNetwork(14)
    const [, b] = await pair(net)
    const evil = new MemoryTransport(net, 'evil:1')
    await evil.listen()
    const good = toKeyTuple({
      key: 'k-1',
      replica: 'evil.1',
      seq: 1,
      name: 'x',
      op: 'increment',
      amount: 1,
      value: 1,
      at: Date.now(),
      attempt: 1,
    })
    const state = { p: { 'evil.1': 1 }, n: {}, r: {} }
    const bad: unknown[] = [
      ['x'.repeat(129), ...good.slice(1)],
      [...good.slice(0, 8), 0, 0],
      good.slice(0, 9),
      [...good.slice(0, 5), 0, ...good.slice(6)],
    ]
    const before = b.node.transportStats().badFrames.shape
    for (const k of bad) evil.send(b.addr, { t: 20, f: 'evil', b: [['x', state]], k: [good, k] } as never)
    await until(() => b.node.transportStats().badFrames.shape === before + bad.length, {
      what: 'every bad B_PUSH counted',
      timeoutMs: 5000,
    })
    expect(b.node.bounded.map.get('x')).toBeUndefined()
    expect(knowsKey(b, 'k-1')).toBe(false)
    // The same message with only good records is merged and learnt.
    evil.send(b.addr, { t: 20, f: 'evil', b: [['x', state]], k: [good] } as never)
    await until(() => knowsKey(b, 'k-1'), { what: 'the good record', timeoutMs: 5000 })
    expect(valueAt(b, 'x')).toBe(1)
    await evil.close()
  })
})
