/** Most out-of-order ranges remembered per replica while waiting for the gap before them. */
export const MAX_PENDING_RANGES = 32

/**
 * The version summary of a CounterMap: per replica r, `get(r)` = the seq up to
 * which this holder has every change of r. It only advances over contiguous
 * knowledge: a range (from, to] joins only when `from <= get(r)`; a range
 * that arrives early (a gap before it) is parked, and joins when the gap is
 * filled. At most MAX_PENDING_RANGES are parked per replica: dropping one is
 * safe (the entries were applied; a later anti-entropy round re-sends a range
 * that closes the gap), it only delays the summary.
 */
export class VersionVector {
  readonly #vv = new Map<string, number>()
  readonly #pending = new Map<string, Array<[from: number, to: number]>>()

  /** Seq up to which every change of `replica` is held (0 if none). */
  get(replica: string): number {
    return this.#vv.get(replica) ?? 0
  }

  /** Replicas with a non-zero summary entry. */
  keys(): IterableIterator<string> {
    return this.#vv.keys()
  }

  /** Plain-object copy `{ replica: seq }`. O(replicas). */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [r, s] of this.#vv) out[r] = s
    return out
  }

  /** Ranges parked for `replica` (copies), for tests and diagnostics. */
  pending(replica: string): Array<[number, number]> {
    return (this.#pending.get(replica) ?? []).map(([f, t]) => [f, t])
  }

  /**
   * Records that every change of `replica` with seq in (from, to] is held.
   * Returns true when the summary advanced. Caller guarantees 0 <= from <= to.
   */
  advance(replica: string, from: number, to: number): boolean {
    let cur = this.#vv.get(replica) ?? 0
    if (to <= cur) return false
    if (from > cur) {
      const pending = this.#pending.get(replica) ?? []
      pending.push([from, to])
      const merged = coalesce(pending)
      if (merged.length > MAX_PENDING_RANGES) merged.pop()
      this.#pending.set(replica, merged)
      return false
    }
    cur = to
    const pending = this.#pending.get(replica)
    if (pending) {
      const rest: Array<[number, number]> = []
      for (const [f, t] of pending) {
        if (t <= cur) continue
        if (f <= cur) cur = t
        else rest.push([f, t])
      }
      if (rest.length > 0) this.#pending.set(replica, rest)
      else this.#pending.delete(replica)
    }
    this.#vv.set(replica, cur)
    return true
  }
}

/**
 * Sorts ranges by start and joins overlapping or adjacent ones ((1,3] and
 * (3,5] become (1,5]), so a run of consecutive operations parks as one range.
 */
export function coalesce(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || b[1] - a[1])
  const out: Array<[number, number]> = []
  for (const [f, t] of sorted) {
    const last = out[out.length - 1]
    if (last && f <= last[1]) {
      if (t > last[1]) last[1] = t
    } else out.push([f, t])
  }
  return out
}
