// Every rate limit a node knows: one WindowedCounter of @tally/crdt per
// (name, windowMs), the decision of a hit, merging bucket tuples from peers,
// garbage collection of old buckets and an O(1) digest of the live buckets
// for anti-entropy. Pure: the clock is an argument; no I/O.

import { type LimitDecision, WindowedCounter } from '@tally/crdt'
import type { BucketTuple } from '../wire/limit-messages.js'
import { observe, type PeerRate, unseen } from './peer-rates.js'

/**
 * Clock-skew margin of bucket GC, ms: a bucket is dropped only once it is
 * older than the previous window of `now − LIMIT_SKEW_MS`, so a peer whose
 * clock is up to this much behind ours never sees a bucket it still updates
 * dropped here.
 */
export const LIMIT_SKEW_MS = 1_000

const M32 = 0x1_0000_0000

// FNV-1a over a string's UTF-16 units with a given offset basis: a 32-bit lane of the tuple hash.
function fnv(s: string, basis: number): number {
  let h = basis
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** A limit's key in the table: windows of different lengths are different limits. */
function limitKey(name: string, windowMs: number): string {
  return `${windowMs}/${name}`
}

/** One limit: its counter and, once other replicas' counts arrived, their rates (peer-rates.ts). */
interface Entry {
  name: string
  c: WindowedCounter
  peers?: Map<string, PeerRate>
}

/**
 * The node's rate limits. Each (name, windowMs) is a WindowedCounter whose
 * local replica is this node's; `hit` decides and counts, `merge` takes
 * peers' tuples, `gc` drops buckets outside the window (and limits left
 * empty), `digest` fingerprints what is live.
 */
export class LimitTable {
  readonly replica: string
  readonly #limits = new Map<string, Entry>()
  // Digest of every held tuple: count and two 32-bit lanes of Σ hash (mod 2^32 each).
  #n = 0
  #lo = 0
  #hi = 0
  #buckets = 0

  /** `replica`: this node's replica id (its own hits go there). */
  constructor(replica: string) {
    this.replica = replica
  }

  /** Number of limits held (with at least one bucket). */
  get size(): number {
    return this.#limits.size
  }

  /** Number of buckets held, over all limits. */
  get buckets(): number {
    return this.#buckets
  }

  /**
   * Decides one hit of `amount` against `limit` per `windowMs` on limit
   * `name` at `now` (ms since the epoch) with this node's view; an allowed hit
   * is counted here and its tuple (this replica's new count) returned for
   * persistence and replication. Inputs are trusted (checked by the edges).
   */
  hit(
    name: string,
    limit: number,
    windowMs: number,
    amount: number,
    now: number,
  ): { decision: LimitDecision; tuple?: BucketTuple } {
    const e = this.#entry(name, windowMs)
    const c = e.c
    const start = c.windowStart(now)
    const before = c.ownCount(start)
    const bucketsBefore = c.size
    // Rate-aware headroom: what the other replicas are likely to have admitted unseen.
    let reserve = 0
    if (e.peers) for (const p of e.peers.values()) reserve += unseen(p, start, now)
    const decision =
      limit - reserve >= amount
        ? c.tryHit(now, limit - reserve, amount)
        : { allowed: false, used: c.estimate(now), remaining: 0, resetMs: start + windowMs - now }
    decision.remaining = Math.max(0, limit - decision.used)
    if (!decision.allowed) {
      if (c.size === 0) this.#limits.delete(limitKey(name, windowMs))
      return { decision }
    }
    this.#buckets += c.size - bucketsBefore
    const count = c.ownCount(start)
    this.#account(name, windowMs, start, this.replica, before, count)
    return { decision, tuple: [name, windowMs, start, this.replica, count] }
  }

  /**
   * Merges peers' tuples (validated by the wire reader) and returns those
   * that grew something here. Tuples of buckets already outside the window
   * (per {@link gc} at `now`) are ignored: they could change no answer.
   * Counts of other replicas in the current window also update their rates
   * (`lagMs`: how long the frame carrying them travelled; undefined for
   * tuples not fresh off the wire, e.g. recovered from disk).
   */
  merge(tuples: readonly BucketTuple[], now: number, lagMs?: number): BucketTuple[] {
    const changed: BucketTuple[] = []
    for (const t of tuples) {
      const [name, windowMs, start, replica, count] = t
      const entry = this.#limits.get(limitKey(name, windowMs))
      const c = entry?.c ?? new WindowedCounter(this.replica, windowMs)
      if (start < c.horizon(now, LIMIT_SKEW_MS)) continue
      const before = c.countOf(start, replica)
      const bucketsBefore = c.size
      if (!c.mergeCount(start, replica, count)) continue
      const e = entry ?? { name, c }
      if (!entry) this.#limits.set(limitKey(name, windowMs), e)
      if (lagMs !== undefined && replica !== this.replica && start === c.windowStart(now)) {
        e.peers ??= new Map()
        e.peers.set(replica, observe(e.peers.get(replica), start, count, now, lagMs))
      }
      this.#buckets += c.size - bucketsBefore
      this.#account(name, windowMs, start, replica, before, count)
      changed.push(t)
    }
    return changed
  }

  /**
   * Drops, from every limit, the buckets older than the previous window of
   * `now − LIMIT_SKEW_MS`, and the limits left with none. Returns how many
   * buckets went. O(limits).
   */
  gc(now: number): number {
    let dropped = 0
    for (const [key, { name, c }] of this.#limits) {
      const h = c.horizon(now, LIMIT_SKEW_MS)
      const old = c.bucketStarts().filter((s) => s < h)
      if (old.length === 0) continue
      for (const start of old)
        for (const [r, n] of c.bucketCounts(start)) this.#account(name, c.windowMs, start, r, n, 0)
      const d = c.gc(now, LIMIT_SKEW_MS)
      dropped += d
      this.#buckets -= d
      if (c.size === 0) this.#limits.delete(key)
    }
    return dropped
  }

  /** Every held tuple (all replicas, all live buckets). O(buckets). */
  tuples(): BucketTuple[] {
    const out: BucketTuple[] = []
    for (const { name, c } of this.#limits.values()) {
      for (const [start, counts] of c.state().buckets)
        for (const [r, n] of counts) out.push([name, c.windowMs, start, r, n])
    }
    return out
  }

  /** Fingerprint of the held tuples, `count:16 hex`; equal tables have equal digests. O(1). */
  digest(): string {
    return `${this.#n}:${this.#hi.toString(16).padStart(8, '0')}${this.#lo.toString(16).padStart(8, '0')}`
  }

  /** The sliding-window estimate of limit `name`/`windowMs` at `now` (0 when unknown). */
  estimate(name: string, windowMs: number, now: number): number {
    return this.#limits.get(limitKey(name, windowMs))?.c.estimate(now) ?? 0
  }

  #entry(name: string, windowMs: number): Entry {
    const key = limitKey(name, windowMs)
    let e = this.#limits.get(key)
    if (!e) {
      e = { name, c: new WindowedCounter(this.replica, windowMs) }
      this.#limits.set(key, e)
    }
    return e
  }

  // Moves the digest from (tuple with count `from`) to (tuple with count `to`); 0 = absent.
  #account(name: string, w: number, start: number, r: string, from: number, to: number): void {
    const base = `${name}\u0000${w}\u0000${start}\u0000${r}\u0000`
    if (from > 0) {
      const s = base + from
      this.#lo = (this.#lo - fnv(s, 0x811c9dc5) + M32) % M32
      this.#hi = (this.#hi - fnv(s, 0x050c5d1f) + M32) % M32
      this.#n--
    }
    if (to > 0) {
      const s = base + to
      this.#lo = (this.#lo + fnv(s, 0x811c9dc5)) % M32
      this.#hi = (this.#hi + fnv(s, 0x050c5d1f)) % M32
      this.#n++
    }
  }
}
