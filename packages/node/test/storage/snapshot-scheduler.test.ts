import { CounterMap } from '@tally/crdt'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { SnapshotScheduler } from '../../src/storage/snapshot-scheduler.js'
import { isStateSource, readAll, type StateSource } from '../../src/storage/snapshot-source.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { WriteFence } from '../../src/storage/write-fence.js'

/** A memory store that says whether anything was logged since its last snapshot, and counts snapshots. */
class ChangeTrackingStore extends MemoryStore {
  changed = false
  snapshots: Array<ReturnType<typeof readAll>> = []
  override async appendLocal(...args: Parameters<MemoryStore['appendLocal']>): Promise<void> {
    this.changed = true
    return super.appendLocal(...args)
  }
  override async snapshot(state: Parameters<MemoryStore['snapshot']>[0], _idem: IdempotencyRecord[]) {
    this.snapshots.push(isStateSource(state) ? readAll(state as StateSource) : state)
    this.changed = false
  }
  changedSinceSnapshot(): boolean {
    return this.changed
  }
}

function setup() {
  const store = new ChangeTrackingStore()
  const logger = pino({ level: 'silent' })
  const map = new CounterMap('n1.1')
  const fence = new WriteFence({ store, logger })
  const sched = new SnapshotScheduler({
    store,
    map,
    fence,
    records: { snapshotRecords: () => [] },
    logger,
    intervalMs: 3_600_000,
  })
  return { store, map, fence, sched }
}

describe('SnapshotScheduler', () => {
  it('takes no snapshot while nothing was logged since the last one, and one of the live map once something was', async () => {
    const { store, map, fence, sched } = setup()
    await sched.take()
    expect(store.snapshots).toHaveLength(0)
    expect(sched.skipped).toBe(1)
    map.increment('a', 3)
    await fence.append(map.seq, map.deltaFor(map.replica, 0))
    await sched.take()
    expect(store.snapshots).toHaveLength(1)
    expect(store.snapshots[0]).toEqual(map.state())
    await sched.take()
    expect(store.snapshots).toHaveLength(1)
    expect(sched.taken).toBe(1)
    expect(sched.skipped).toBe(2)
  })
})
