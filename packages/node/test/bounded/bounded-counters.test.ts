// The bounded write path against a store whose appends the test releases:
// only durable states leave the node, a grant is answered only once its
// transfer is durable, and a failed append fences bounded writes.

import { describe, expect, it } from 'vitest'
import { BoundedCounters } from '../../src/bounded/bounded-counters.js'
import type {
  BoundedRecord,
  BoundedRecovered,
  BoundedSnapshot,
  BoundedStore,
} from '../../src/bounded/bounded-store.js'
import { isNodeError } from '../../src/errors.js'
import { silent } from '../support/sim.js'

/** Appends wait until the test calls release() (in order) or fail(). */
class HeldStore implements BoundedStore {
  readonly held: Array<{ record: BoundedRecord; resolve: () => void; reject: (e: Error) => void }> = []
  async open(): Promise<BoundedRecovered> {
    return { states: [], idempotency: [], warnings: [] }
  }
  append(record: BoundedRecord): Promise<void> {
    return new Promise((resolve, reject) => this.held.push({ record, resolve, reject }))
  }
  release(): void {
    this.held.shift()?.resolve()
  }
  fail(): void {
    this.held.shift()?.reject(new Error('disk full'))
  }
  async snapshot(_read: () => BoundedSnapshot): Promise<void> {}
  needsSnapshot(): boolean {
    return false
  }
  async close(): Promise<void> {}
}

const open = (store: BoundedStore) =>
  BoundedCounters.open({
    replica: 'a.1',
    store,
    logger: silent,
    idempotencyTtlMs: 60_000,
    idempotencyMaxKeys: 100,
  })
const tick = () => new Promise((r) => setImmediate(r))

describe('BoundedCounters', () => {
  it('while a change is being written, gossip carries the last durable state', async () => {
    const store = new HeldStore()
    const b = await open(store)
    const inc = b.mutate({ name: 's', op: 'increment', amount: 10 })
    await tick()
    expect(b.shareable('s')).toBeUndefined()
    store.release()
    await expect(inc).resolves.toEqual({ name: 's', value: 10 })
    const durable = b.shareable('s')
    expect(durable).toEqual({ p: { 'a.1': 10 }, n: {}, r: {} })
    let answered = false
    const dec = b.mutate({ name: 's', op: 'decrement', amount: 4 }).then((r) => {
      answered = true
      return r
    })
    await tick()
    // Applied in memory, not yet durable: not answered, and not shared.
    expect(b.view('s').value).toBe(6)
    expect(answered).toBe(false)
    expect(b.shareable('s')).toEqual(durable)
    store.release()
    await expect(dec).resolves.toEqual({ name: 's', value: 6 })
    expect(b.shareable('s')).toEqual({ p: { 'a.1': 10 }, n: { 'a.1': 4 }, r: {} })
  })

  it('a grant resolves only once its transfer is durable, and gives at most what is held', async () => {
    const store = new HeldStore()
    const b = await open(store)
    const inc = b.mutate({ name: 's', op: 'increment', amount: 5 })
    await tick()
    store.release()
    await inc
    let granted: unknown
    const g = b.grant('s', 'b.1', 8).then((r) => {
      granted = r
    })
    await tick()
    expect(granted).toBeUndefined()
    expect(b.shareable('s')).toEqual({ p: { 'a.1': 5 }, n: {}, r: {} })
    store.release()
    await g
    expect(granted).toEqual({ granted: 5, state: { p: { 'a.1': 5 }, n: {}, r: { 'a.1': { 'b.1': 5 } } } })
    expect(b.stats.rightsOut).toBe(5)
    const none = await b.grant('s', 'b.1', 1)
    expect(none?.granted).toBe(0)
  })

  it('a failed append answers TALLY_STORE_FAILED, keeps the change out of gossip and fences bounded writes', async () => {
    const store = new HeldStore()
    const b = await open(store)
    const first = b.mutate({ name: 's', op: 'increment', amount: 3 })
    await tick()
    store.release()
    await first
    const lost = b.mutate({ name: 's', op: 'increment', amount: 2 })
    await tick()
    store.fail()
    const err = await lost.catch((e: unknown) => e)
    expect(isNodeError(err, 'TALLY_STORE_FAILED')).toBe(true)
    expect(b.shareable('s')).toEqual({ p: { 'a.1': 3 }, n: {}, r: {} })
    const next = await b.mutate({ name: 's', op: 'increment', amount: 1 }).catch((e: unknown) => e)
    expect(isNodeError(next, 'TALLY_STORE_FAILED')).toBe(true)
    expect(await b.grant('s', 'b.1', 1)).toEqual({ granted: 0, state: { p: { 'a.1': 3 }, n: {}, r: {} } })
  })
})
