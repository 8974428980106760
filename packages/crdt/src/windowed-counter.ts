// A windowed counter for distributed rate limits: hits are counted in
// fixed-length window buckets, each bucket a per-replica grow-only count that
// merges like a GCounter (per-replica max). The answer a limiter needs is the
// sliding-window-counter estimate (the well-known algorithm used by Cloudflare
// and nginx-style limiters): the current bucket plus the previous bucket
// weighted by how much of the previous window still overlaps the sliding one.
// Pure: no clock is read here; every method that depends on time takes `now`.
import { ErrorCodes, TallyError } from './errors.js'
import {
  assertAmount,
  assertReplicaId,
  describe,
  guard,
  isCount,
  isPlainObject,
  isValidReplicaId,
  unknownKey,
} from './validate.js'

const MAX = Number.MAX_SAFE_INTEGER

/**
 * Plain-data state (or delta) of a {@link WindowedCounter}: the window length
 * in ms and, per bucket (keyed by its window start, ms since the epoch, a
 * multiple of `windowMs`), each replica's count. A delta is a state holding
 * only some buckets or replicas: merging either is the same operation.
 */
export interface WindowedCounterState {
  windowMs: number
  buckets: Array<[start: number, counts: Array<[replica: string, count: number]>]>
}

/** What one {@link WindowedCounter.tryHit} decided. */
export interface LimitDecision {
  /** True when the hit fitted under the limit and was counted. */
  allowed: boolean
  /** The sliding-window estimate after the decision (integer, rounded up). */
  used: number
  /** `limit − used`, never below 0. */
  remaining: number
  /** ms until the current fixed window ends (from then its hits start to leave the estimate). */
  resetMs: number
}

/**
 * Start (ms since the epoch) of the window of length `windowMs` holding
 * instant `now`: the greatest multiple of `windowMs` not above `now`. Pure.
 */
export function windowStartOf(now: number, windowMs: number): number {
  return now - (now % windowMs)
}

/** ceil(a·b / c) exactly, for non-negative safe integers with a·b possibly past 2^53. */
function mulDivCeil(a: number, b: number, c: number): number {
  const p = a * b
  if (p <= MAX) {
    let q = Math.floor(p / c)
    while (q * c > p) q--
    while ((q + 1) * c <= p) q++
    return q * c === p ? q : q + 1
  }
  const big = BigInt(a) * BigInt(b)
  const bc = BigInt(c)
  const q = (big + bc - 1n) / bc
  return q > BigInt(MAX) ? MAX : Number(q)
}

/**
 * A replicated windowed counter (one rate limit). Each replica adds its own
 * hits to the bucket of the window they fall in; replicas exchange states or
 * deltas and merge them by per-replica maximum, so merge is commutative,
 * associative and idempotent (each bucket is a GCounter).
 *
 * The sliding-window estimate at `now`, with `cur` the current bucket's
 * total, `prev` the previous bucket's and `elapsed = now − start(current)`:
 *
 *     estimate = cur + ⌈prev · (windowMs − elapsed) / windowMs⌉
 *
 * (rounded up, so the estimate never under-counts). It assumes the previous
 * window's hits were spread evenly over it; with bursty traffic it can be off
 * by up to `prev` either way for one window. It is not a fixed window: a
 * burst at the end of one window still counts at the start of the next.
 *
 * Buckets older than the previous window can never change an estimate again
 * and are dropped by {@link gc}.
 */
export class WindowedCounter {
  readonly replica: string
  readonly windowMs: number
  // window start → replica → count
  readonly #buckets = new Map<number, Map<string, number>>()

  /**
   * Throws TALLY_REPLICA_INVALID for a bad replica id, RangeError unless
   * `windowMs` is a positive safe integer.
   */
  constructor(replica: string, windowMs: number) {
    assertReplicaId(replica)
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0)
      throw new RangeError(`windowMs must be a positive safe integer, got ${describe(windowMs)}`)
    this.replica = replica
    this.windowMs = windowMs
  }

  /** A counter for `replica` holding `state` (validated: throws as {@link merge}). */
  static fromState(replica: string, state: unknown): WindowedCounter {
    const s = readWindowedState(state)
    const c = new WindowedCounter(replica, s.windowMs)
    c.merge(s)
    return c
  }

  /** Window start holding `now` (see {@link windowStartOf}). Throws RangeError for a bad `now`. */
  windowStart(now: number): number {
    assertTime(now)
    return windowStartOf(now, this.windowMs)
  }

  /** Total of the bucket starting at `start` over every replica (0 if none), capped at 2^53−1. */
  bucketTotal(start: number): number {
    const b = this.#buckets.get(start)
    if (!b) return 0
    let t = 0
    for (const v of b.values()) t += v
    return Math.min(t, MAX)
  }

  /** This replica's own count in the bucket starting at `start` (0 if none). */
  ownCount(start: number): number {
    return this.countOf(start, this.replica)
  }

  /** `replica`'s count in the bucket starting at `start` (0 if none). */
  countOf(start: number, replica: string): number {
    return this.#buckets.get(start)?.get(replica) ?? 0
  }

  /** The `[replica, count]` pairs of the bucket starting at `start` (empty if none), a fresh array. */
  bucketCounts(start: number): Array<[replica: string, count: number]> {
    return [...(this.#buckets.get(start) ?? [])]
  }

  /**
   * The sliding-window estimate at `now` (formula in the class comment), an
   * integer rounded up. Throws RangeError for a bad `now`.
   */
  estimate(now: number): number {
    const start = this.windowStart(now)
    const cur = this.bucketTotal(start)
    const prev = this.bucketTotal(start - this.windowMs)
    const weighted = prev === 0 ? 0 : mulDivCeil(prev, this.windowMs - (now - start), this.windowMs)
    return Math.min(MAX, cur + weighted)
  }

  /**
   * Counts `amount` hits of this replica at `now` (in the bucket of `now`'s
   * window) and returns this replica's new count there. Throws
   * TALLY_AMOUNT_INVALID (not a positive safe integer), TALLY_OVERFLOW (the
   * own count would pass 2^53−1; nothing changes) or RangeError for a bad `now`.
   */
  hit(now: number, amount = 1): number {
    assertAmount(amount)
    const start = this.windowStart(now)
    const own = this.ownCount(start)
    if (own > MAX - amount) throw new TallyError(ErrorCodes.OVERFLOW, 'the bucket count would pass 2^53-1')
    let b = this.#buckets.get(start)
    if (!b) {
      b = new Map()
      this.#buckets.set(start, b)
    }
    b.set(this.replica, own + amount)
    return own + amount
  }

  /**
   * The rate-limit decision at `now`: counts the `amount` hits (as {@link hit})
   * iff `estimate(now) + amount ≤ limit`; a refused hit changes nothing.
   * Throws TALLY_AMOUNT_INVALID for a bad amount, RangeError for a `limit`
   * that is not a positive safe integer or a bad `now`.
   */
  tryHit(now: number, limit: number, amount = 1): LimitDecision {
    assertAmount(amount)
    if (!Number.isSafeInteger(limit) || limit <= 0)
      throw new RangeError(`limit must be a positive safe integer, got ${describe(limit)}`)
    const before = this.estimate(now)
    const allowed = amount <= limit && before <= limit - amount
    if (allowed) this.hit(now, amount)
    const used = allowed ? before + amount : before
    const start = windowStartOf(now, this.windowMs)
    return { allowed, used, remaining: Math.max(0, limit - used), resetMs: start + this.windowMs - now }
  }

  /**
   * Merges a state or delta (untrusted: validated in full first) by
   * per-replica maximum in each bucket; returns true when anything grew.
   * Throws TALLY_STATE_INVALID for a malformed one or one of another
   * `windowMs`; the counter is then unchanged.
   */
  merge(other: unknown): boolean {
    const s = readWindowedState(other)
    if (s.windowMs !== this.windowMs)
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `windowMs ${s.windowMs} does not match this counter's ${this.windowMs}`,
      )
    let changed = false
    for (const [start, counts] of s.buckets) {
      for (const [r, n] of counts) if (this.mergeCount(start, r, n)) changed = true
    }
    return changed
  }

  /**
   * Merges one trusted `(start, replica, count)` (already validated by the
   * caller: start a multiple of windowMs, count a non-negative safe integer);
   * returns true when it grew the bucket. Never throws.
   */
  mergeCount(start: number, replica: string, count: number): boolean {
    let b = this.#buckets.get(start)
    if ((b?.get(replica) ?? 0) >= count) return false
    if (!b) {
      b = new Map()
      this.#buckets.set(start, b)
    }
    b.set(replica, count)
    return true
  }

  /** A fresh plain copy of the whole state, canonical: buckets by ascending start, replicas by id. */
  state(): WindowedCounterState {
    const starts = [...this.#buckets.keys()].sort((a, b) => a - b)
    return {
      windowMs: this.windowMs,
      buckets: starts.map((s) => [
        s,
        [...(this.#buckets.get(s) as Map<string, number>)].sort((x, y) =>
          x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0,
        ),
      ]),
    }
  }

  /** The delta of this replica's own count in the bucket starting at `start` (empty when none). */
  deltaFor(start: number): WindowedCounterState {
    const own = this.ownCount(start)
    return { windowMs: this.windowMs, buckets: own > 0 ? [[start, [[this.replica, own]]]] : [] }
  }

  /** Window starts of the buckets held, ascending. */
  bucketStarts(): number[] {
    return [...this.#buckets.keys()].sort((a, b) => a - b)
  }

  /** Number of buckets held. */
  get size(): number {
    return this.#buckets.size
  }

  /**
   * The oldest bucket start still needed at `now` with clocks up to `skewMs`
   * behind: the previous window of `now − skewMs`. Pure.
   */
  horizon(now: number, skewMs = 0): number {
    return windowStartOf(Math.max(0, now - skewMs), this.windowMs) - this.windowMs
  }

  /**
   * Drops buckets that start before {@link horizon}`(now, skewMs)` and returns
   * how many. No estimate at any instant ≥ `now − skewMs` changes: those read
   * only their own and the previous window. `skewMs` is the margin for
   * replicas (or requests) whose clock is behind this one. Throws RangeError
   * for a bad `now` or negative `skewMs`.
   */
  gc(now: number, skewMs = 0): number {
    assertTime(now)
    if (!Number.isSafeInteger(skewMs) || skewMs < 0)
      throw new RangeError(`skewMs must be a non-negative safe integer, got ${describe(skewMs)}`)
    const h = this.horizon(now, skewMs)
    let dropped = 0
    for (const start of this.#buckets.keys()) {
      if (start < h) {
        this.#buckets.delete(start)
        dropped++
      }
    }
    return dropped
  }
}

function assertTime(now: number): void {
  if (!Number.isSafeInteger(now) || now < 0)
    throw new RangeError(
      `now must be ms since the epoch as a non-negative safe integer, got ${describe(now)}`,
    )
}

/** Most buckets and replicas per bucket accepted in one untrusted state. */
const MAX_BUCKETS = 10_000
const MAX_REPLICAS = 10_000

/**
 * Reads an untrusted {@link WindowedCounterState} into a fresh copy. Throws
 * TALLY_STATE_INVALID, whatever the input, for anything but `{ windowMs,
 * buckets }` with a positive safe-integer `windowMs`, bucket starts that are
 * non-negative multiples of it (each once), valid replica ids (each once per
 * bucket) and non-negative safe-integer counts; at most 10 000 buckets and
 * 10 000 replicas per bucket.
 */
export function readWindowedState(x: unknown): WindowedCounterState {
  return guard(ErrorCodes.STATE_INVALID, 'windowed counter state', () => {
    const bad = (why: string) => new TallyError(ErrorCodes.STATE_INVALID, `windowed counter state: ${why}`)
    if (!isPlainObject(x)) throw bad(`must be an object, got ${describe(x)}`)
    const extra = unknownKey(x, ['windowMs', 'buckets'])
    if (extra !== undefined) throw bad(`unknown field ${describe(extra)}`)
    const { windowMs, buckets } = x
    if (!isCount(windowMs) || windowMs === 0)
      throw bad(`windowMs must be a positive safe integer, got ${describe(windowMs)}`)
    if (!Array.isArray(buckets) || buckets.length > MAX_BUCKETS)
      throw bad(`buckets must be an array of at most ${MAX_BUCKETS}`)
    const seen = new Set<number>()
    const out: WindowedCounterState['buckets'] = []
    for (const b of buckets as unknown[]) {
      if (!Array.isArray(b) || b.length !== 2) throw bad('a bucket must be [start, counts]')
      const [start, counts] = b as unknown[]
      if (!isCount(start) || start % windowMs !== 0)
        throw bad(`bucket start must be a non-negative multiple of windowMs, got ${describe(start)}`)
      if (seen.has(start)) throw bad(`bucket ${start} appears twice`)
      seen.add(start)
      if (!Array.isArray(counts) || counts.length > MAX_REPLICAS)
        throw bad(`bucket counts must be an array of at most ${MAX_REPLICAS}`)
      const replicas = new Set<string>()
      const row: Array<[string, number]> = []
      for (const c of counts as unknown[]) {
        if (!Array.isArray(c) || c.length !== 2) throw bad('a count must be [replica, count]')
        const [r, n] = c as unknown[]
        if (!isValidReplicaId(r)) throw bad(`bad replica id ${describe(r)}`)
        if (!isCount(n)) throw bad(`count must be a non-negative safe integer, got ${describe(n)}`)
        if (replicas.has(r)) throw bad(`replica ${describe(r)} appears twice in bucket ${start}`)
        replicas.add(r)
        row.push([r, n])
      }
      out.push([start, row])
    }
    return { windowMs, buckets: out }
  })
}
