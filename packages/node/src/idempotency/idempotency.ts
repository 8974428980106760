// Idempotency keys for mutating requests: a retry with the same key gets the
// first answer and changes nothing; a concurrent duplicate waits for the
// first; the same key with a different request is refused. Records live for
// `ttlMs` (from their first acknowledgement) and at most `maxKeys` are kept,
// oldest dropped first. Persisted through the Store with each operation.
// The key rule itself is @tally/kit's `isIdempotencyKey`.

import type { IdempotencyRecord } from '../storage/store.js'

/** What a request is, to compare a repeated key against. */
export interface OpShape {
  name: string
  op: 'increment' | 'decrement'
  amount: number
}

/** Result of {@link IdempotencyTable.check}. */
export type IdemCheck =
  | { kind: 'new' }
  | { kind: 'done'; record: IdempotencyRecord }
  | { kind: 'inflight'; wait: Promise<void> }
  | { kind: 'mismatch'; first: OpShape }

/** True when two requests are the same operation. Pure. */
export function sameOp(a: OpShape, b: OpShape): boolean {
  return a.name === b.name && a.op === b.op && a.amount === b.amount
}

/** In-memory table of idempotency records plus requests in flight. */
export class IdempotencyTable {
  readonly #ttl: number
  readonly #max: number
  readonly #now: () => number
  // Insertion order = acknowledgement order, so expiry and eviction pop from the front.
  readonly #done = new Map<string, IdempotencyRecord>()
  readonly #inflight = new Map<string, { shape: OpShape; wait: Promise<void> }>()

  constructor(opts: { ttlMs: number; maxKeys: number; now?: () => number }) {
    this.#ttl = opts.ttlMs
    this.#max = opts.maxKeys
    this.#now = opts.now ?? Date.now
  }

  /** Loads recovered records (any order); expired ones are skipped. */
  load(records: readonly IdempotencyRecord[]): void {
    this.loadSorted([...records].sort((a, b) => a.at - b.at))
  }

  /**
   * Loads recovered records sorted oldest first, as {@link load} does after
   * sorting: consecutive pieces of one sorted list, loaded one call each,
   * leave the table as one `load` of the whole list. O(records).
   */
  loadSorted(records: readonly IdempotencyRecord[]): void {
    const done = this.#done
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as IdempotencyRecord
      const held = done.size
      done.set(r.key, r)
      // A key held already keeps its place when set: move it to the end (the newest), as remember does.
      if (done.size === held) {
        done.delete(r.key)
        done.set(r.key, r)
      }
    }
    this.#expire()
  }

  /** What to do with a request carrying `key`. Pure lookup apart from dropping expired records. */
  check(key: string, shape: OpShape): IdemCheck {
    const r = this.#done.get(key)
    // An expired record is dropped (with every older one) and the key is new again; a live one
    // answers without walking the table (this runs once per keyed request).
    if (r && r.at <= this.#now() - this.#ttl) this.#expire()
    else if (r) return sameOp(r, shape) ? { kind: 'done', record: r } : { kind: 'mismatch', first: r }
    const f = this.#inflight.get(key)
    if (f)
      return sameOp(f.shape, shape)
        ? { kind: 'inflight', wait: f.wait }
        : { kind: 'mismatch', first: f.shape }
    return { kind: 'new' }
  }

  /** Marks `key` in flight until `work` settles. The caller must have got `new` from check(). */
  track(key: string, shape: OpShape, work: Promise<unknown>): void {
    // One promise per tracked write: the callback that ends its tracking is what waiters wait for.
    // (`clear` runs after `entry` exists: a promise callback never runs synchronously.)
    const clear = (): void => {
      if (this.#inflight.get(key) === entry) this.#inflight.delete(key)
    }
    const entry = { shape, wait: work.then(clear, clear) }
    this.#inflight.set(key, entry)
  }

  /** Stores the acknowledged outcome of a request. */
  remember(record: IdempotencyRecord): void {
    this.#done.delete(record.key)
    this.#done.set(record.key, record)
    this.#expire()
  }

  /** Live records, oldest first (for snapshots). */
  records(): IdempotencyRecord[] {
    this.#expire()
    return [...this.#done.values()]
  }

  /** Number of live records. */
  get size(): number {
    return this.#done.size
  }

  #expire(): void {
    const cutoff = this.#now() - this.#ttl
    for (const [k, r] of this.#done) {
      if (r.at > cutoff && this.#done.size <= this.#max) break
      this.#done.delete(k)
    }
  }
}
