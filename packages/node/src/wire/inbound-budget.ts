// One memory budget shared by every inbound gossip connection: the bytes
// held in frames that have started but not yet completed. A connection whose
// next chunk would take the total past the limit is closed (its bytes are
// released at once), so however many connections declare however large
// frames, a node holds at most `limit` bytes of incomplete frames (plus the
// one socket read, ≤ 64 KiB, that found the budget exhausted).

/** Shared byte budget. Not thread-safe (one event loop). */
export class InboundBudget {
  readonly limit: number
  #used = 0
  /** Refusals since start (a connection closed for want of budget). */
  refused = 0

  /** `limit`: bytes, a positive integer. Throws RangeError otherwise. */
  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`bad inbound budget ${limit}`)
    this.limit = limit
  }

  /** Bytes currently held. */
  get used(): number {
    return this.#used
  }

  /** Takes `n` bytes if they fit; returns false (and takes nothing) otherwise. */
  take(n: number): boolean {
    if (this.#used + n > this.limit) {
      this.refused++
      return false
    }
    this.#used += n
    return true
  }

  /** Gives back `n` bytes taken before. */
  give(n: number): void {
    this.#used = Math.max(0, this.#used - n)
  }
}
