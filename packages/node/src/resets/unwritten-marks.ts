// Which counters have a local mark change (a delete, an applied expiry, a
// lift before a write) still being written. Gossip sends a mark with a delta
// (delta-marks.ts) only once every local change of it is durable, the rule
// deltas follow for own entries (clipToDurable): a crash must never leave a
// peer holding a mark that covers own operations this node then lost.

/** Counts of local mark changes in flight, by counter name. Pure state. */
export class UnwrittenMarks {
  readonly #by = new Map<string, number>()

  /** Number of counters with a change in flight. */
  get size(): number {
    return this.#by.size
  }

  /** Counts one change in flight for each of `names`. */
  add(names: readonly string[]): void {
    for (const n of names) this.#by.set(n, (this.#by.get(n) ?? 0) + 1)
  }

  /** One change of each of `names` is durable. */
  written(names: readonly string[]): void {
    for (const n of names) {
      const left = (this.#by.get(n) ?? 1) - 1
      if (left > 0) this.#by.set(n, left)
      else this.#by.delete(n)
    }
  }

  /** True when a change of `name` is in flight. O(1). */
  has(name: string): boolean {
    return this.#by.has(name)
  }
}
