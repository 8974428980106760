import { type Hash64, hashString, mixNumber } from './hash.js'

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
  // Order-independent hash of the summary (sum of per-replica hashes), kept
  // up to date on every change so the owner's digest stays O(1).
  #h1 = 0
  #h2 = 0

  /** Hash of the summary: equal iff the summaries are equal (up to a 2^-64 collision). O(1). */
  hash(): Hash64 {
    return { h1: this.#h1, h2: this.#h2 }
  }

  #set(replica: string, seq: number): void {
    const old = this.#vv.get(replica)
    // \u0001 cannot start a counter name, so these never collide with entry keys.
    const base = hashString(`\u0001vv\u0000${replica}`)
    if (old !== undefined) {
      const h = mixNumber(base, old)
      this.#h1 = (this.#h1 - h.h1) >>> 0
      this.#h2 = (this.#h2 - h.h2) >>> 0
    }
    const h = mixNumber(base, seq)
    this.#h1 = (this.#h1 + h.h1) >>> 0
    this.#h2 = (this.#h2 + h.h2) >>> 0
    this.#vv.set(replica, seq)
  }

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
    const next = advanceSummary(this.get(replica), this.#pending, replica, from, to)
    if (next === undefined) return false
    this.#set(replica, next)
    return true
  }
}

/**
 * The summary rule as one pure step, for anyone folding deltas without a
 * CounterMap (e.g. a write-ahead-log recovery): given `cur`, the seq up to
 * which every change of `replica` is held, and the ranges parked so far,
 * records that every change with seq in (from, to] is held. Returns the new
 * seq when the summary advances (absorbing parked ranges the new seq reaches),
 * undefined when it does not (a range with a gap before it is parked, at most
 * MAX_PENDING_RANGES per replica). Mutates `pending`. Caller guarantees
 * 0 <= from <= to.
 */
export function advanceSummary(
  cur: number,
  pending: Map<string, Array<[from: number, to: number]>>,
  replica: string,
  from: number,
  to: number,
): number | undefined {
  if (to <= cur) return undefined
  if (from > cur) {
    const parked = pending.get(replica) ?? []
    parked.push([from, to])
    const merged = coalesce(parked)
    if (merged.length > MAX_PENDING_RANGES) merged.pop()
    pending.set(replica, merged)
    return undefined
  }
  let next = to
  const parked = pending.get(replica)
  if (parked) {
    const rest: Array<[number, number]> = []
    for (const [f, t] of parked) {
      if (t <= next) continue
      if (f <= next) next = t
      else rest.push([f, t])
    }
    if (rest.length > 0) pending.set(replica, rest)
    else pending.delete(replica)
  }
  return next
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
