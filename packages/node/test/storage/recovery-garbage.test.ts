// What only recovery needs (the Recovered object, the key records it read,
// the snapshot's chunk bytes, the folded log) must be garbage once the node
// serves: at 300 000 key records that is tens of megabytes of heap, and
// every full garbage collection marks it again. A closure the store keeps
// for as long as it is open (its group commit's writer) once kept all of it,
// by sharing the scope of the function that recovered.
//
// Checked with WeakRefs and a forced collection: `gc` is made available in
// this process with V8's --expose-gc flag, set at run time.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { CounterMap } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { TallyNode } from '../../src/node.js'
import { LevelStore } from '../../src/storage/level-store.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { IdempotencyRecord, Recovered } from '../../src/storage/store.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { silent } from '../support/sim.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** True once `ref`'s target has been collected, after up to a few forced collections. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    // A WeakRef's target stays alive until the end of the job that created or read it.
    await new Promise((r) => setImmediate(r))
    gc()
    if (ref.deref() === undefined) return true
  }
  return false
}

/** A data dir holding a snapshot with `keys` key records of node n1, and `tail` keyed writes logged after it. */
async function dataDir(keys: number, tail: number): Promise<string> {
  const dir = await tempDir(cleanup, 'tally-garbage-')
  const store = new LevelStore({ dataDir: dir, bootId: 'boot' })
  const rec = await store.open('n1')
  const map = new CounterMap(rec.identity.replicaId)
  const now = Date.now()
  const records: IdempotencyRecord[] = []
  for (let i = 0; i < keys; i++) {
    map.increment(`c-${i % 100}`, 1)
    records.push({
      key: `k-${i}`,
      name: `c-${i % 100}`,
      op: 'increment',
      amount: 1,
      value: 1,
      at: now,
      replica: map.replica,
      seq: map.seq,
      attempt: 1,
    })
  }
  await store.snapshot(mapSource(map), records)
  for (let i = 0; i < tail; i++) {
    const before = map.seq
    map.increment('tail', 1)
    await store.appendLocal(map.deltaFor(map.replica, before), {
      key: `t-${i}`,
      name: 'tail',
      op: 'increment',
      amount: 1,
      value: map.value('tail'),
      at: now,
      replica: map.replica,
      seq: map.seq,
      attempt: 1,
    })
  }
  await store.close()
  return dir
}

describe('after a recovery', () => {
  it("neither the store nor the node keeps what recovery read: the Recovered object and its key records' array are collected", async () => {
    const dir = await dataDir(5_000, 200)
    let recovered: WeakRef<Recovered> | undefined
    let records: WeakRef<IdempotencyRecord[]> | undefined
    const store = new LevelStore({ dataDir: dir, bootId: 'boot' })
    const open = store.open.bind(store)
    // The node's own open, watched: the Recovered object and the records it hands out.
    store.open = async (id) => {
      const rec = await open(id)
      recovered = new WeakRef(rec)
      const read = rec.readIdempotency?.bind(rec)
      if (read)
        rec.readIdempotency = async () => {
          const out = await read()
          records = new WeakRef(out)
          return out
        }
      return rec
    }
    const transport = new MemoryTransport(new MemoryNetwork(1), 'n1:1')
    const node = await TallyNode.start({ id: 'n1', store, transport, logger: silent, peers: [] })
    cleanup.add(() => node.stop())
    // The node holds every record (5 000 from the snapshot, 200 from the log) and answers from them.
    expect(node.keys.size).toBe(5_200)
    expect(recovered).toBeDefined()
    expect(records).toBeDefined()
    expect(await collected(records as WeakRef<object>)).toBe(true)
    expect(await collected(recovered as WeakRef<object>)).toBe(true)
    // And the store still writes: a keyed write after the collection is durable.
    await node.mutate({ name: 'after', op: 'increment', amount: 2, key: 'after-1' })
    expect(node.map.value('after')).toBe(2)
  })
})
