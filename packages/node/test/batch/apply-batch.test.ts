// TallyNode.applyBatch: a batch of plain writes is one durable write, answered per op.
import type { Delta } from '@tally/crdt'
import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

/** A MemoryStore whose local appends wait until the test releases (or fails) them. */
class HeldStore extends MemoryStore {
  holding = false
  readonly held: Array<{ delta: Delta; release: () => void; fail: (err: Error) => void }> = []
  appends = 0
  override appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void> {
    this.appends++
    if (!this.holding) return super.appendLocal(delta, idem)
    return new Promise((resolve, reject) => {
      this.held.push({
        delta,
        release: () => resolve(super.appendLocal(delta, idem)),
        fail: reject,
      })
    })
  }
}

let nodes: SimNode[] = []
afterEach(async () => {
  for (const n of nodes) if (n.store instanceof HeldStore) for (const h of n.store.held.splice(0)) h.release()
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

const inc = (name: string, amount = 1) => ({ name, op: 'increment' as const, amount })

describe('TallyNode.applyBatch', () => {
  it('answers each op with its own value and writes the batch as one append', async () => {
    const store = new HeldStore()
    const a = await startSim(new MemoryNetwork(), 'b1', [], {}, store)
    nodes = [a]
    const before = store.appends
    const { values, durable } = a.node.applyBatch([
      inc('k'),
      inc('k'),
      inc('j', 5),
      { name: 'k', op: 'decrement', amount: 3 },
      inc('no good'),
      inc('k'),
    ])
    await durable
    expect(values.map((v) => (typeof v === 'number' ? v : (v as Error & { code: string }).code))).toEqual([
      1,
      2,
      5,
      -1,
      'TALLY_NAME_INVALID',
      0,
    ])
    expect(store.appends - before).toBe(1)
    expect(a.node.value('k')).toBe(0)
    expect(a.node.value('j')).toBe(5)
  })

  it('is durable only once the store says so, as one delta, then replicates', async () => {
    const store = new HeldStore()
    const net = new MemoryNetwork()
    const a = await startSim(net, 'b1', [], {}, store)
    const b = await startSim(net, 'b2', ['b1:1'])
    nodes = [a, b]
    await until(() => a.node.membership.counts().live === 1, { what: 'b1 sees b2', timeoutMs: 10_000 })
    store.holding = true
    let done = false
    const { values, durable } = a.node.applyBatch([inc('k'), inc('k')])
    void durable.then(() => {
      done = true
    })
    expect(values).toEqual([1, 2])
    await until(() => store.held.length === 1, { what: 'the batch reached the store', timeoutMs: 5_000 })
    // The store holds the append: not durable yet.
    expect(done).toBe(false)
    const seqBefore = a.node.map.seq - 1
    expect(store.held[0]?.delta.entries).toEqual([['k', a.node.identity.replicaId, 2, 0, seqBefore + 1]])
    store.held.splice(0)[0]?.release()
    await durable
    expect(done).toBe(true)
    await until(() => b.node.map.value('k') === 2, { what: 'b2 learns the batch', timeoutMs: 10_000 })
  })

  it('a failed append rejects the batch with TALLY_STORE_FAILED and fences the node', async () => {
    const store = new HeldStore()
    const a = await startSim(new MemoryNetwork(), 'b1', [], {}, store)
    nodes = [a]
    store.holding = true
    const { durable } = a.node.applyBatch([inc('k'), inc('j')])
    await until(() => store.held.length === 1, { what: 'the batch reached the store', timeoutMs: 5_000 })
    store.held.splice(0)[0]?.fail(new Error('disk full'))
    await expect(durable).rejects.toMatchObject({ code: 'TALLY_STORE_FAILED' })
    expect(() => a.node.applyBatch([inc('k')])).toThrow(
      expect.objectContaining({ code: 'TALLY_STORE_FAILED' }),
    )
  })

  it('refuses every op while the node stops', async () => {
    const a = await startSim(new MemoryNetwork(), 'b1', [])
    nodes = [a]
    const stopped = a.node.stop()
    expect(() => a.node.applyBatch([inc('k')])).toThrow(
      expect.objectContaining({ code: 'TALLY_SHUTTING_DOWN' }),
    )
    await stopped
  })
})
