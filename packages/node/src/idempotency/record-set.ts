// The idempotency records a recovery reads (hundreds of thousands from a
// snapshot and the log), one per application of a key, without building a
// composite string id per record: they are grouped by key, and the few keys
// applied more than once hold a short array.

import type { IdempotencyRecord } from '../storage/store.js'

// Same application of a key: the same replica's same operation (records
// written before keys were replicated have neither, and one per key).
function sameApplication(a: IdempotencyRecord, b: IdempotencyRecord): boolean {
  return a.replica === b.replica && (a.replica === undefined || (a.seq ?? 0) === (b.seq ?? 0))
}

/**
 * A set of idempotency records, one per application (key, replica, seq):
 * the first copy of an application is kept (it is the original answer),
 * except that a later copy saying `compensated` marks it compensated. The
 * retention rule, at the cost of one Map lookup by key per record.
 */
export class RecordSet {
  readonly #byKey = new Map<string, IdempotencyRecord | IdempotencyRecord[]>()
  #size = 0

  /** Adds one record under the rule above. O(applications of its key). */
  add(r: IdempotencyRecord): void {
    const held = this.#byKey.get(r.key)
    if (held === undefined) {
      this.#byKey.set(r.key, r)
      this.#size++
      return
    }
    const list = Array.isArray(held) ? held : [held]
    const i = list.findIndex((x) => sameApplication(x, r))
    if (i < 0) {
      list.push(r)
      this.#size++
    } else {
      const old = list[i] as IdempotencyRecord
      if (r.compensated !== true || old.compensated === true) return
      list[i] = { ...old, compensated: true }
    }
    this.#byKey.set(r.key, list.length === 1 ? (list[0] as IdempotencyRecord) : list)
  }

  /** Number of applications held. */
  get size(): number {
    return this.#size
  }

  /**
   * The records still inside retention at `now` (`at > now - ttl`, all in
   * ms), oldest first (a stable sort: records of equal `at` in the order
   * added). O(n) when they were added in that order, else O(n log n); a new
   * array, the records shared.
   */
  live(now: number, ttl: number): IdempotencyRecord[] {
    const cutoff = now - ttl
    const out: IdempotencyRecord[] = []
    for (const held of this.#byKey.values()) {
      if (!Array.isArray(held)) {
        if (held.at > cutoff) out.push(held)
      } else for (const r of held) if (r.at > cutoff) out.push(r)
    }
    // Usually in order already (a snapshot's records are oldest first, the log's after them).
    for (let i = 1; i < out.length; i++)
      if ((out[i - 1] as IdempotencyRecord).at > (out[i] as IdempotencyRecord).at)
        return out.sort((a, b) => a.at - b.at)
    return out
  }
}
