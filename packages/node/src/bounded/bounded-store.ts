// Persistence seam of the bounded counters: every change to a bounded
// counter is logged as that counter's whole state (a bounded counter's
// decrement or transfer delta is its whole state anyway), with the
// idempotency record of a keyed write. Recovery merges what was logged
// (merge is idempotent and order-free). The LevelDB implementation is in
// level-bounded-store.ts; the memory one here serves tests and simulations.

import type { BoundedCounterState } from '@tally/crdt'
import type { IdempotencyRecord } from '../storage/store.js'

/** One logged change: counter `name` now holds (at least) `state`. */
export interface BoundedRecord {
  name: string
  state: BoundedCounterState
  /** The idempotency record of the keyed request that made this change, if any. */
  idem?: IdempotencyRecord
}

/** What {@link BoundedStore.open} hands back. */
export interface BoundedRecovered {
  /** Every counter's last logged state (or several states of one name: merge them all). */
  states: Array<[name: string, state: BoundedCounterState]>
  /** Idempotency records of keyed bounded writes (the caller drops expired ones). */
  idempotency: IdempotencyRecord[]
  warnings: string[]
}

/** The content of a snapshot. */
export interface BoundedSnapshot {
  states: Array<[string, BoundedCounterState]>
  idempotency: IdempotencyRecord[]
}

/** Durable log of bounded-counter states. */
export interface BoundedStore {
  /** Opens the store and returns what to rebuild. Rejects with a StoreError when it cannot be read. */
  open(): Promise<BoundedRecovered>
  /**
   * Logs a record. `local`: the change is this node's own operation (an
   * increment, a decrement, a transfer it granted): under `sync` durability
   * it resolves only after an fsync; a merged remote state is not synced on
   * its own. Rejects (StoreError TALLY_STORE_FAILED) when the write failed:
   * the store then refuses everything after it.
   */
  append(record: BoundedRecord, local: boolean): Promise<void>
  /**
   * Replaces the log with what `read()` returns: every counter's state and
   * every live idempotency record. `read` runs after every record appended
   * before this call is written (so it sees at least what they hold).
   */
  snapshot(read: () => BoundedSnapshot): Promise<void>
  /** True when enough records piled up since the last snapshot that one should be taken. */
  needsSnapshot(): boolean
  /** Waits for queued writes and releases the store. Idempotent. */
  close(): Promise<void>
}

/**
 * A BoundedStore in memory: survives close()/open() on the same object (a
 * restart with data); `wipe()` forgets everything (a lost data dir).
 */
export class MemoryBoundedStore implements BoundedStore {
  #records: BoundedRecord[] = []

  async open(): Promise<BoundedRecovered> {
    return {
      states: this.#records.map((r) => [r.name, r.state]),
      idempotency: this.#records.flatMap((r) => (r.idem ? [r.idem] : [])),
      warnings: [],
    }
  }

  async append(record: BoundedRecord, _local: boolean): Promise<void> {
    this.#records.push(record)
  }

  async snapshot(read: () => BoundedSnapshot): Promise<void> {
    const { states, idempotency: idem } = read()
    this.#records = states.map(([name, state]) => ({ name, state }))
    for (const r of idem) this.#records.push({ name: r.name, state: { p: {}, n: {}, r: {} }, idem: r })
  }

  needsSnapshot(): boolean {
    return this.#records.length > 10_000
  }

  async close(): Promise<void> {}

  /** Forgets every record. */
  wipe(): void {
    this.#records = []
  }
}
