// A node whose write-ahead log refuses a write must not count that write
// anywhere: the client got 503 and may retry it elsewhere with the same key.

import type { Delta } from '@tally/crdt'
import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { toHttp } from '../../src/http/error-status.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { allAt, gossipRoundsPass, type SimNode, startSim } from '../support/sim.js'

/** A MemoryStore whose appends fail while `failing` is set (a full or broken disk). */
class FlakyStore extends MemoryStore {
  failing = false
  override async appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void> {
    if (this.failing) throw new Error('disk full')
    return super.appendLocal(delta, idem)
  }
}

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

describe('a failed write-ahead log append', () => {
  it('is never counted: the node stops serving, the write never leaves it, a retry elsewhere counts once', async () => {
    const net = new MemoryNetwork(7)
    const flaky = new FlakyStore()
    const a = await startSim(net, 'n1', [], {}, flaky)
    const b = await startSim(net, 'n2', ['n1:1'])
    nodes = [a, b]
    await a.node.mutate({ name: 'c', op: 'increment', amount: 1 })
    await until(() => allAt([a, b], 'c', 1), { what: 'first write everywhere', timeoutMs: 5000 })

    flaky.failing = true
    for (const key of ['k1', 'k2', 'k3']) {
      const err = await a.node.mutate({ name: 'c', op: 'increment', amount: 10, key, attempt: 1 }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toMatchObject({ code: 'TALLY_STORE_FAILED' })
      expect(toHttp(err).status).toBe(503)
    }
    // The node no longer serves: reads and writes answer 503 until it restarts.
    expect(a.node.storeFailure).toBe('disk full')
    expect(() => a.node.value('c')).toThrow(expect.objectContaining({ code: 'TALLY_STORE_FAILED' }))
    await expect(a.node.mutate({ name: 'c', op: 'increment', amount: 1 })).rejects.toMatchObject({
      code: 'TALLY_STORE_FAILED',
    })
    // Many gossip rounds later the refused writes have not reached the peer.
    await gossipRoundsPass([b])
    expect(b.node.map.value('c')).toBe(1)

    // The client retries each refused write on the other node (second attempt): counted once.
    for (const key of ['k1', 'k2', 'k3']) {
      await b.node.mutate({ name: 'c', op: 'increment', amount: 10, key, attempt: 2 })
    }
    expect(b.node.map.value('c')).toBe(31)

    // The failed node restarts from what its store kept, and the cluster is exact.
    await a.node.stop()
    flaky.failing = false
    const a2 = await startSim(net, 'n1', ['n2:1'], {}, flaky)
    nodes = [a2, b]
    await a2.node.mutate({ name: 'c', op: 'increment', amount: 100 })
    await until(() => allAt([a2, b], 'c', 131), { what: 'exact total after restart', timeoutMs: 5000 })
    await gossipRoundsPass([a2, b])
    expect(allAt([a2, b], 'c', 131)).toBe(true)
    expect(a2.node.map.digest()).toBe(b.node.map.digest())
  })
})

/** A MemoryStore that cannot persist deltas from peers. */
class NoRemoteStore extends MemoryStore {
  override async appendRemote(): Promise<void> {
    throw new Error('disk full')
  }
}

describe('a failed persist of a peer delta', () => {
  it('is never confirmed durable, even when the delta arrives again asking for an ack', async () => {
    const net = new MemoryNetwork(8)
    const b = await startSim(net, 'n2', [], {}, new NoRemoteStore())
    nodes = [b]
    const peer = new MemoryTransport(net, 'peer:1')
    const acks: number[] = []
    peer.onMessage((msg) => {
      if (msg.t === MsgType.PUSH_ACK) acks.push(msg.q)
    })
    await peer.listen()
    const delta = { ranges: [['peer.1', 0, 1]], entries: [['q', 'peer.1', 1, 0, 1]] }
    // First as an eager push (its persist fails), then the same delta as a quorum push: n2
    // already holds it in memory, but it is not durable there, so no PUSH_ACK may come back.
    peer.send('n2:1', { t: MsgType.PUSH, f: 'peer', delta } as unknown as Message)
    await until(() => b.node.map.value('q') === 1, { what: 'delta applied', timeoutMs: 5000 })
    peer.send('n2:1', { t: MsgType.PUSH, f: 'peer', a: 'peer:1', delta, q: 7 } as unknown as Message)
    // n2 has taken both pushes in, and run gossip rounds since (its failed persist has settled).
    await until(() => b.node.replicator.stats.pushesIn >= 2, { what: 'both pushes received' })
    const rounds = b.node.replicator.stats.rounds
    await until(() => b.node.replicator.stats.rounds >= rounds + 5, { what: 'five more rounds on n2' })
    expect(acks).toEqual([])
    await peer.close()
  })
})
