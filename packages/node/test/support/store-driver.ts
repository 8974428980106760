import type { CounterMap } from '@tally/crdt'
import type { LevelStore, LevelStoreOptions } from '../../src/storage/level-store.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import type { IdempotencyRecord, Recovered, Store } from '../../src/storage/store.js'

/**
 * Drives a Store the way the daemon does: apply to an in-memory CounterMap,
 * then append the delta; `restart()` reopens and rebuilds from `Recovered`.
 */
export class Driver {
  map: CounterMap
  recovered: Recovered
  /** Live idempotency records, as the daemon's table would hold them (recovered + new). */
  idem: IdempotencyRecord[]

  private constructor(
    readonly store: Store,
    recovered: Recovered,
    map: CounterMap,
  ) {
    this.recovered = recovered
    this.map = map
    this.idem = [...recovered.idempotency]
  }

  static async open(store: Store, nodeId = 'n1'): Promise<Driver> {
    const recovered = await store.open(nodeId)
    return new Driver(store, recovered, await rebuild(recovered))
  }

  /** Increments locally and logs it; resolves when the store acknowledges. */
  inc(
    name = 'c',
    amount = 1,
    idem?: Omit<IdempotencyRecord, 'value' | 'name' | 'amount' | 'op'>,
  ): Promise<void> {
    const before = this.map.seq
    const value = this.map.increment(name, amount)
    const delta = this.map.deltaFor(this.map.replica, before)
    const record: IdempotencyRecord | undefined = idem
      ? { ...idem, name, op: 'increment', amount, value }
      : undefined
    if (record) this.idem.push(record)
    return this.store.appendLocal(delta, record)
  }

  /** Merges a peer's delta and logs it when it changed anything. */
  async remote(delta: Parameters<CounterMap['applyDelta']>[0]): Promise<void> {
    if (this.map.applyDelta(delta)) await this.store.appendRemote(delta as never)
  }
}

/** The daemon's rebuild (`rebuildCounters`), which must not have skipped any delta. */
export async function rebuild(r: Recovered): Promise<CounterMap> {
  const { map, skipped } = await rebuildCounters(r)
  if (skipped > 0) throw new Error(`rebuild skipped ${skipped} invalid delta(s)`)
  return map
}

/** Builds LevelStore options for a backend. */
export type Backend = (dataDir: string, extra?: Partial<LevelStoreOptions>) => LevelStore
