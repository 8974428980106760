// The node's reset marks and TTL registers, beside its CounterMap: for each
// counter that was ever deleted or given a TTL, the mark of ResettableCounter
// (docs/crdt.md) and the last-writer-wins TTL of ttl.ts, plus which TTL
// version this replica has applied. Pure state: no clock, no I/O. Counters
// without an entry here read straight from the CounterMap (the fast path).

import { compareTtl, markedValue, mergeTtl, type PNCounterState, type Ttl } from '@tally/crdt'
import { type MarkTuple, ttlOf, ttlTuple } from './mark-tuple.js'

interface Entry {
  p: Map<string, number>
  n: Map<string, number>
  ttl: Ttl | undefined
  /** This entry's share of the digest. */
  h1: number
  h2: number
}

/**
 * Reset marks and TTLs by counter name. Merge is per-entry max of the marks
 * and last writer wins of the TTL: commutative, associative, idempotent.
 * `digest()` is O(1), maintained as entries change.
 */
export class CounterMarks {
  readonly #by = new Map<string, Entry>()
  // The TTL version this replica applied, by name (local, never replicated, not in the digest).
  readonly #applied = new Map<string, Ttl>()
  #h1 = 0
  #h2 = 0

  /** Number of counters with a mark or a TTL. */
  get size(): number {
    return this.#by.size
  }

  /** True when counter `name` has a mark or a TTL here. */
  has(name: string): boolean {
    return this.#by.has(name)
  }

  /** Names with an entry, in insertion order. */
  names(): IterableIterator<string> {
    return this.#by.keys()
  }

  /**
   * The value of `totals` (counter `name`'s CounterMap entries) under this
   * counter's mark, and whether it reads as deleted (`empty`: every total is
   * covered). Pure; O(replicas).
   */
  value(name: string, totals: PNCounterState): { value: bigint; empty: boolean } {
    const e = this.#by.get(name)
    if (!e) return markedValue(totals, { p: {}, n: {} })
    return markedValue(totals, { p: Object.fromEntries(e.p), n: Object.fromEntries(e.n) })
  }

  /** Counter `name`'s TTL register (undefined: never set). */
  ttl(name: string): Ttl | undefined {
    return this.#by.get(name)?.ttl
  }

  /** The TTL version this replica applied for `name` (undefined: none). */
  applied(name: string): Ttl | undefined {
    return this.#applied.get(name)
  }

  /**
   * Raises counter `name`'s mark to `totals` (an observed reset). Returns
   * the tuple to replicate and log when the mark grew, else null. O(replicas).
   */
  reset(name: string, totals: PNCounterState): MarkTuple | null {
    const changed = this.merge([[name, totals.p, totals.n, 0]])
    return changed.length > 0 ? this.tuple(name) : null
  }

  /** Sets a newer TTL version; returns the tuple to replicate and log when it won, else null. */
  setTtl(name: string, ttl: Ttl): MarkTuple | null {
    const changed = this.merge([[name, {}, {}, ttlTuple(ttl)]])
    return changed.length > 0 ? this.tuple(name) : null
  }

  /** Records that this replica applied TTL version `ttl` of `name` (local state). */
  setApplied(name: string, ttl: Ttl): void {
    this.#applied.set(name, ttl)
  }

  /**
   * Merges checked tuples (from `readMarkTuples`): per-entry max of the
   * marks, last writer wins of the TTL. Returns the names whose mark or TTL
   * changed. O(size of the tuples).
   */
  merge(tuples: readonly MarkTuple[]): string[] {
    const changed: string[] = []
    for (const [name, p, n, t] of tuples) {
      const known = this.#by.get(name)
      const ttl = t === 0 ? undefined : ttlOf(t)
      if (!known && ttl === undefined && !anyPositive(p) && !anyPositive(n)) continue
      const e = known ?? this.#entry(name)
      let grew = raise(e.p, p)
      if (raise(e.n, n)) grew = true
      const won = mergeTtl(e.ttl, ttl)
      if (won !== e.ttl) {
        e.ttl = won
        grew = true
      }
      if (grew) {
        this.#rehash(name, e)
        changed.push(name)
      }
    }
    return changed
  }

  /** Counter `name`'s replicated state as a tuple (empty tables when unknown). */
  tuple(name: string): MarkTuple {
    const e = this.#by.get(name)
    if (!e) return [name, {}, {}, 0]
    return [name, Object.fromEntries(e.p), Object.fromEntries(e.n), e.ttl ? ttlTuple(e.ttl) : 0]
  }

  /** Every counter's replicated state (anti-entropy, snapshots). O(state). */
  tuples(): MarkTuple[] {
    return [...this.#by.keys()].map((name) => this.tuple(name))
  }

  /** Every applied TTL version, as `[name, ttl]` (snapshots). */
  appliedAll(): Array<[string, Ttl]> {
    return [...this.#applied]
  }

  /**
   * Drops counter `name`'s entry (garbage collection: the caller checked
   * that dropping it cannot bring old counts back). Returns true if there was one.
   */
  drop(name: string): boolean {
    this.#applied.delete(name)
    const e = this.#by.get(name)
    if (!e) return false
    this.#h1 = (this.#h1 - e.h1) >>> 0
    this.#h2 = (this.#h2 - e.h2) >>> 0
    this.#by.delete(name)
    return true
  }

  /**
   * Order-independent fingerprint of the replicated state (marks and TTLs,
   * not the applied versions): `"<entries>:<16 hex>"`, equal iff the states
   * are equal up to a 2^-64 collision. O(1).
   */
  digest(): string {
    return `${this.#by.size}:${hex8(this.#h1)}${hex8(this.#h2)}`
  }

  #entry(name: string): Entry {
    let e = this.#by.get(name)
    if (!e) {
      e = { p: new Map(), n: new Map(), ttl: undefined, h1: 0, h2: 0 }
      this.#by.set(name, e)
      this.#rehash(name, e)
    }
    return e
  }

  #rehash(name: string, e: Entry): void {
    this.#h1 = (this.#h1 - e.h1) >>> 0
    this.#h2 = (this.#h2 - e.h2) >>> 0
    const text = canonical(name, e)
    e.h1 = fnv(text, 0x811c9dc5)
    e.h2 = fnv(text, 0x01000193 ^ 0x5bd1e995)
    this.#h1 = (this.#h1 + e.h1) >>> 0
    this.#h2 = (this.#h2 + e.h2) >>> 0
  }
}

/** True when some value of `t` is above 0. */
function anyPositive(t: Readonly<Record<string, number>>): boolean {
  for (const v of Object.values(t)) if (v > 0) return true
  return false
}

function raise(into: Map<string, number>, from: Readonly<Record<string, number>>): boolean {
  let grew = false
  for (const [r, v] of Object.entries(from)) {
    if (v > (into.get(r) ?? 0)) {
      into.set(r, v)
      grew = true
    }
  }
  return grew
}

function canonical(name: string, e: Entry): string {
  const table = (m: Map<string, number>): string =>
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([r, v]) => `${r}=${v}`)
      .join(',')
  const t = e.ttl ? `${e.ttl.at ?? 'p'},${e.ttl.setBy},${e.ttl.stamp}` : ''
  return `${name}\u0000${table(e.p)}\u0000${table(e.n)}\u0000${t}`
}

// FNV-1a, 32 bits, over UTF-16 code units; two seeds give the two halves of the digest.
function fnv(s: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}

/** True when `a` and `b` are the same TTL version (both undefined included). */
export function sameTtl(a: Ttl | undefined, b: Ttl | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return compareTtl(a, b) === 0
}
