// Resumable catch-up: an anti-entropy answer is a bounded slice of the
// difference (CounterMap.deltaSince with a budget), and the receiver, not the
// sender, drives the next one. The cursor is the receiver's own version
// summary (a slice's ranges advance it exactly over what the slice carried),
// so no new message or field is needed and older nodes interoperate:
//
//   J ── PUSH {…, s: summary_J} ──────▶ S    ask ("send me what I lack")
//   J ◀──── PUSH {slice ≤ budget} ───── S    S builds one slice in this turn
//   J applies it, logs it, and, if it looks cut short, asks again as soon as
//   the slice before it is durable (two slices in flight at most)
//   J ── PUSH {empty, s: summary_J'} ─▶ S    …until a slice is not full
//
// At most one such follow-up ask per peer is unanswered at a time (the
// gossip rounds go on as usual beside it); an answer that never comes just
// ends the chain, and the next round's ask restarts it. The sender does not
// cut the same slice twice in a row: a round's ask (or ACK) that carries the
// summary it just answered with a slice gets no second copy of it.

import type { Delta } from '@tally/crdt'

/**
 * Smallest budget a sender may cut an answer at. A received delta with at
 * least this many entries and a range may be a slice cut short; anything
 * smaller never is, so eager pushes and small repairs never start a chain.
 */
export const MIN_SLICE_ENTRIES = 1_000

/** An unanswered follow-up ask older than this no longer holds back the next one (ms). */
export const ASK_TIMEOUT_MS = 2_000

/**
 * True when `delta` may be a slice cut short at its sender's budget: at least
 * {@link MIN_SLICE_ENTRIES} entries and a range (a slice's ranges are what
 * advance the receiver's summary, the cursor; without one, asking again
 * would return the same slice). Pure.
 */
export function mayBeCut(delta: Delta): boolean {
  return delta.entries.length >= MIN_SLICE_ENTRIES && delta.ranges.length > 0
}

/**
 * The highest seq per replica that `delta` carries (entries or ranges), for
 * sending key records along with a slice: a record rides with its operation,
 * so a slice carries the records of replica r up to this seq only. Pure, O(entries).
 */
export function sliceReach(delta: Delta): Map<string, number> {
  const reach = new Map<string, number>()
  const up = (r: string, seq: number) => {
    if (seq > (reach.get(r) ?? 0)) reach.set(r, seq)
  }
  for (const e of delta.entries) up(e[1], e[4])
  for (const r of delta.ranges) up(r[0], r[2])
  return reach
}

/**
 * Per-peer state of follow-up asks: when one was sent and what our state
 * digest was then. Pure bookkeeping (the caller passes the time); memory is
 * one small record per peer with a chain running.
 */
export class FollowUps {
  readonly #asked = new Map<string, { at: number; digest: string }>()
  readonly #timeoutMs: number

  /** `timeoutMs`: see {@link ASK_TIMEOUT_MS}. */
  constructor(timeoutMs = ASK_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs
  }

  /**
   * Whether to ask `peer` again after applying `delta` from it: the delta
   * may be cut short, it moved our state (it `changed` something, or our
   * digest differs from when we last asked: another answer brought part of
   * this one first), and no follow-up ask to it is pending.
   */
  shouldAsk(peer: string, delta: Delta, changed: boolean, digest: string, now: number): boolean {
    if (!mayBeCut(delta)) return false
    const last = this.#asked.get(peer)
    if (last && now - last.at < this.#timeoutMs) return false
    return changed || (last !== undefined && last.digest !== digest)
  }

  /** Records a follow-up ask to `peer` sent at `now` with our state at `digest`. */
  asked(peer: string, digest: string, now: number): void {
    this.#asked.set(peer, { at: now, digest })
  }

  /** A PUSH without an ask came from `peer`: its pending follow-up ask counts as answered. */
  answered(peer: string): void {
    const last = this.#asked.get(peer)
    if (last) last.at = Number.NEGATIVE_INFINITY
  }

  /** Forgets `peer` (it left or died). */
  forget(peer: string): void {
    this.#asked.delete(peer)
  }
}

/** How long a slice answered to a summary stays "in flight": the same summary again within this gets no second copy (ms). */
export const SLICE_MEMO_MS = 1_000

/**
 * The sender's side: per peer, the summary it last answered with a cut
 * slice, and when. A round's ask built from the same summary (sent before
 * the peer had applied that slice) would only duplicate it. Pure
 * bookkeeping (the caller passes the time); one small record per peer.
 */
export class SliceMemo {
  readonly #last = new Map<string, { key: string; at: number }>()
  readonly #ttlMs: number

  /** `ttlMs`: see {@link SLICE_MEMO_MS}. */
  constructor(ttlMs = SLICE_MEMO_MS) {
    this.#ttlMs = ttlMs
  }

  /** True when `peer` was sent a cut slice for this very (checked) summary less than the ttl ago. */
  sent(peer: string, summary: ReadonlyMap<string, number>, now: number): boolean {
    const last = this.#last.get(peer)
    return last !== undefined && now - last.at < this.#ttlMs && last.key === summaryKey(summary)
  }

  /** Records that `peer` was just sent a cut slice for `summary`. */
  note(peer: string, summary: ReadonlyMap<string, number>, now: number): void {
    this.#last.set(peer, { key: summaryKey(summary), at: now })
  }
}

// Order-independent text of a checked summary (replica ids have no control characters). O(replicas log replicas).
function summaryKey(summary: ReadonlyMap<string, number>): string {
  return [...summary]
    .map(([r, seq]) => `${r}\u0000${seq}`)
    .sort()
    .join('\u0001')
}
