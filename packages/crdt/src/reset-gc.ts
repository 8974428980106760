// Garbage collection of deleted counters (ResettableCounter): when a
// replica may drop a covered counter and its mark, and how it starts the
// name again afterwards so that no stale copy elsewhere swallows its new
// writes. The rule and its proof sketch: docs/crdt.md, "Garbage collection".

import type { Counts } from './counts.js'
import { type ResettableCounterState, readResettable } from './resettable-counter.js'
import { assertReplicaId, describe } from './validate.js'

/** True when `holder.mark[j] ≥ min(holder.total[j], dropped.total[j])` for every j of `dropped`. */
function tableAcks(total: Counts, mark: Counts, dropped: Counts): boolean {
  for (const [r, d] of dropped) {
    const t = total.get(r) ?? 0
    if ((mark.get(r) ?? 0) < Math.min(t, d)) return false
  }
  return true
}

/**
 * True when `holder` (a replica's state, or a state or delta still in
 * flight) **acknowledges** the deleted counter `dropped`: for every replica
 * j and each table, `holder.mark[j] ≥ min(holder.total[j], dropped.total[j])`,
 * i.e. whatever `holder` carries of the operations `dropped` covers is
 * covered in `holder` too. A holder with nothing for the counter (never
 * heard of it, or dropped it) acknowledges. Throws TALLY_STATE_INVALID when
 * either input is malformed. Pure; O(replicas).
 *
 * A replica may drop a covered state S (`isEmpty`) once every replica's
 * state and every message that can still arrive acknowledge S: then merging
 * any of them gives the same value with or without S (docs/crdt.md). The
 * property is kept by merges, resets, and writes whose deltas carry the
 * writer's own mark (`increment`/`decrement` do), so once true it stays true.
 */
export function acknowledges(holder: unknown, dropped: unknown): boolean {
  const h = readResettable(holder)
  const d = readResettable(dropped)
  return tableAcks(h.p, h.mp, d.p) && tableAcks(h.n, h.mn, d.n)
}

/** Throws RangeError unless `floor` is a non-negative safe integer. */
function assertFloor(floor: number): void {
  if (!Number.isSafeInteger(floor) || floor < 0)
    throw new RangeError(`a floor must be a non-negative safe integer, got ${describe(floor)}`)
}

/**
 * The floor of replica `replica` after it drops `state`: the larger of
 * `floor` and its own increment and decrement totals in `state`. A replica
 * keeps one such scalar over every counter it ever dropped (durably: it
 * must never go down) and starts any counter it does not hold at it (see
 * {@link floorState}). It is a max, not a sum, so it never passes the
 * largest total the replica ever wrote (≤ 2^53−1). Throws RangeError for a
 * bad floor, TALLY_REPLICA_INVALID / TALLY_STATE_INVALID for a bad replica
 * or state. Pure; O(replicas).
 */
export function raiseFloor(floor: number, state: unknown, replica: string): number {
  assertFloor(floor)
  assertReplicaId(replica)
  const s = readResettable(state)
  return Math.max(floor, s.p.get(replica) ?? 0, s.n.get(replica) ?? 0)
}

/**
 * The state replica `replica` starts a counter from when it holds none of it
 * and its floor is `floor`: its own increment and decrement totals at
 * `floor`, covered by a mark at `floor` (value 0, empty). Its later totals
 * are then above any total of it that a peer may still hold in a dropped
 * counter's stale copy, so merging that copy cannot swallow them; and its
 * deltas carry the mark, so a receiver without the copy reads the same
 * value. Floor 0 gives the empty state. Throws RangeError for a bad floor,
 * TALLY_REPLICA_INVALID for a bad id. Pure.
 *
 * Usage: `ResettableCounter.fromState(replica, floorState(replica, floor))`.
 * The counter's life then has 2^53−1 − floor of increments left.
 */
export function floorState(replica: string, floor: number): ResettableCounterState {
  assertFloor(floor)
  assertReplicaId(replica)
  if (floor === 0) return { p: {}, n: {}, mark: { p: {}, n: {} } }
  const own = (): Record<string, number> => ({ [replica]: floor })
  return { p: own(), n: own(), mark: { p: own(), n: own() } }
}
