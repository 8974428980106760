// When this node may garbage-collect a deleted or expired counter: the pure
// part of the rule of docs/crdt.md ("Garbage collection") as the daemon
// applies it, where counter totals (the CounterMap) and marks (CounterMarks)
// travel apart. No clock, no I/O: counter-gc.ts drives it.

import { compareTtl, type PNCounterState, type Ttl } from '@tally/crdt'

/** What a node holds of one counter, as the rule reads it. */
export interface GcView {
  /** Its CounterMap totals. */
  totals: PNCounterState
  /** Seq of each replica's entry (CounterMap state). */
  seqs: Readonly<Record<string, number>>
  /** Its reset mark. */
  mark: PNCounterState
  /** Its TTL register, and the version this node applied. */
  ttl: Ttl | undefined
  applied: Ttl | undefined
}

/** The ack of a member that holds nothing of a counter (never had it, or collected it). */
export const NOT_HELD = '-'

/** Shape of a covered key on the wire: {@link NOT_HELD} or 16 hex digits. */
export const COVERED_KEY = /^(-|[0-9a-f]{16})$/

/**
 * The key of a counter that is covered here, or null. Covered: every mark
 * entry equals its total, exactly (a mark above a total means totals are
 * still to come, and they would arrive without their mark), and its TTL is
 * settled (none, PERSIST, or the version this node applied: a pending
 * expiry belongs to the counter and must not be lost).
 * Two nodes with the same key hold the same totals, all covered. A node
 * holding the mark alone ({@link markOnly}) gets the key of its mark. Pure;
 * O(replicas).
 */
export function coveredKey(v: GcView): string | null {
  const covered = sameTable(v.totals.p, v.mark.p) && sameTable(v.totals.n, v.mark.n)
  if (!covered && !markOnly(v)) return null
  if (
    v.ttl !== undefined &&
    v.ttl.at !== null &&
    (v.applied === undefined || compareTtl(v.applied, v.ttl) !== 0)
  )
    return null
  return hash(`${canonical(v.mark.p)}\u0000${canonical(v.mark.n)}`)
}

/**
 * True when this node holds a mark of the counter but none of its totals: a
 * collected counter's mark that came back from a peer that still holds it,
 * or a delete whose totals have not arrived yet. Its key (that of the mark)
 * confirms peers holding those totals covered; it may itself be dropped only
 * once every member holds nothing of the counter (then no one can send the
 * totals it covers). Pure.
 */
export function markOnly(v: GcView): boolean {
  return isEmpty(v.totals.p) && isEmpty(v.totals.n)
}

function isEmpty(t: Readonly<Record<string, number>>): boolean {
  for (const x of Object.values(t)) if (x !== 0) return false
  return true
}

/**
 * True when this node's version summary covers every entry of the counter
 * (seq ≤ summary[replica]): anti-entropy then never sends it those entries
 * again, which would bring the totals back without their mark. Pure.
 */
export function summaryCovers(
  seqs: Readonly<Record<string, number>>,
  summary: Readonly<Record<string, number>>,
): boolean {
  for (const [r, s] of Object.entries(seqs)) if (s > (summary[r] ?? 0)) return false
  return true
}

/** True when a member's ack `theirs` confirms this node's covered key `mine`. Pure. */
export function confirms(mine: string, theirs: string | undefined): boolean {
  return theirs === mine || theirs === NOT_HELD
}

/**
 * Per candidate counter, the key this node would drop it at and which
 * members confirmed it; and since when every member has (the grace period
 * runs from there). Pure state: no clock (callers pass `now`).
 */
export class GcAcks {
  readonly #by = new Map<
    string,
    {
      key: string
      markOnly: boolean
      acks: Map<string, string>
      readySince: number | undefined
      again: boolean
    }
  >()

  /** Number of candidates. */
  get size(): number {
    return this.#by.size
  }

  /**
   * Makes `name` a candidate at `key`; a changed key starts over (old acks
   * are for other totals). `markOnly`: only {@link NOT_HELD} confirms it.
   */
  consider(name: string, key: string, markOnly = false): void {
    const c = this.#by.get(name)
    if (c && c.key === key && c.markOnly === markOnly) return
    this.#by.set(name, { key, markOnly, acks: new Map(), readySince: undefined, again: false })
  }

  /** Records member `member`'s ack of `name` at `key` (ignored when `name` is not a candidate). */
  ack(member: string, name: string, key: string): void {
    this.#by.get(name)?.acks.set(member, key)
  }

  /** Candidates that `member` has not confirmed yet (at most `max`, in the order they became candidates). */
  missing(member: string, max = Number.POSITIVE_INFINITY): string[] {
    const out: string[] = []
    for (const [name, c] of this.#by) {
      if (out.length >= max) break
      if (!ok(c, member)) out.push(name)
    }
    return out
  }

  /**
   * Since when every one of `members` (every member this node knows, live,
   * suspect or dead; self excluded) has confirmed `name`, or undefined while
   * one has not. The time is kept from the first call that found them all.
   */
  readySince(name: string, members: readonly string[], now: number): number | undefined {
    const c = this.#by.get(name)
    if (!c) return undefined
    if (!members.every((m) => ok(c, m))) {
      c.readySince = undefined
      return undefined
    }
    c.readySince ??= now
    return c.readySince
  }

  /**
   * Forgets every confirmation of `name` and marks it as asked again: the
   * second round of confirmations, after the grace period, catches a member
   * whose state changed since it confirmed (e.g. totals that reached it
   * without their mark after it answered that it held nothing).
   */
  askAgain(name: string): void {
    const c = this.#by.get(name)
    if (!c) return
    c.acks.clear()
    c.readySince = undefined
    c.again = true
  }

  /** True when `name`'s confirmations are the second round ({@link askAgain}). */
  askedAgain(name: string): boolean {
    return this.#by.get(name)?.again ?? false
  }

  /** The key `name` is a candidate at, or undefined. */
  keyOf(name: string): string | undefined {
    return this.#by.get(name)?.key
  }

  /** Stops tracking `name`. */
  forget(name: string): void {
    this.#by.delete(name)
  }

  /** Names of every candidate. */
  names(): string[] {
    return [...this.#by.keys()]
  }
}

function ok(c: { key: string; markOnly: boolean; acks: Map<string, string> }, member: string): boolean {
  const theirs = c.acks.get(member)
  return c.markOnly ? theirs === NOT_HELD : confirms(c.key, theirs)
}

function sameTable(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  let na = 0
  for (const [r, v] of Object.entries(a)) {
    if (v === 0) continue
    na++
    if (b[r] !== v) return false
  }
  let nb = 0
  for (const v of Object.values(b)) if (v !== 0) nb++
  return na === nb
}

function canonical(t: Readonly<Record<string, number>>): string {
  return Object.entries(t)
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([r, v]) => `${r}=${v}`)
    .join(',')
}

// Two FNV-1a 32-bit halves: 16 hex digits.
function hash(s: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')
}
