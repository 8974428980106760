// Recovery of many logged operations (one per log record, local and from
// peers, with idempotency records) rebuilds exactly the state that was
// written: from the log alone, and from a snapshot plus a log tail.
import { CounterMap } from '@tally/crdt'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const NOW = 1_700_000_000_000

function memStore(db: MemoryLevel<string, Uint8Array>): LevelStore {
  return new LevelStore({
    dataDir: '/nonexistent/mem',
    bootId: 'b',
    now: () => NOW,
    snapshotEveryOps: Number.POSITIVE_INFINITY,
    openDb: () => db as unknown as WalDb,
  })
}

/**
 * Logs `ops` operations one per record: local increments/decrements over
 * `counters` names (a third with an idempotency record) and peers' deltas.
 * Resolves with the number of idempotency records logged.
 */
async function writeOps(
  store: LevelStore,
  map: CounterMap,
  peers: CounterMap[],
  ops: number,
  counters: number,
): Promise<number> {
  let records = 0
  for (let i = 0; i < ops; i++) {
    const name = `c-${(i * 7919) % counters}`
    if (i % 5 === 4) {
      const peer = peers[i % peers.length] as CounterMap
      const before = peer.seq
      peer.increment(name, 1 + (i % 3))
      const delta = peer.deltaFor(peer.replica, before)
      if (map.applyDelta(delta)) await store.appendRemote(delta)
      continue
    }
    const before = map.seq
    if (i % 7 === 6) map.decrement(name, 2)
    else map.increment(name, 1 + (i % 4))
    const key = { key: `k-${i}`, name, op: 'increment' as const, amount: 1, value: 1, at: NOW }
    const keyed = i % 3 === 0
    if (keyed) records++
    await store.appendLocal(
      map.deltaFor(map.replica, before),
      keyed ? { ...key, replica: map.replica, seq: map.seq, attempt: 1 } : undefined,
    )
  }
  return records
}

describe('recovery of a large log', () => {
  it('rebuilds the written state from the log alone, then from a snapshot and a log tail', async () => {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
    let store = memStore(db)
    const rec = await store.open('n1')
    const map = new CounterMap(rec.identity.replicaId)
    const peers = [new CounterMap('p1.1'), new CounterMap('p2.1')]
    const records = await writeOps(store, map, peers, 20_000, 3_000)
    await store.close()

    store = memStore(db)
    const again = await store.open('n1')
    expect(again.idempotency).toHaveLength(records)
    const fromLog = (await rebuildCounters(again)).map
    expect(fromLog.digest()).toBe(map.digest())
    expect(fromLog.state()).toEqual(map.state())

    // A snapshot of part of it, then more operations logged after it.
    await store.snapshot(mapSource(fromLog), again.idempotency)
    await writeOps(store, fromLog, peers, 5_000, 4_000)
    await store.close()
    store = memStore(db)
    const third = await store.open('n1')
    const fromSnapshot = (await rebuildCounters(third)).map
    expect(fromSnapshot.digest()).toBe(fromLog.digest())
    expect(fromSnapshot.state()).toEqual(fromLog.state())
    expect(fromSnapshot.seq).toBe(fromLog.seq)
    await store.close()
  })
})
