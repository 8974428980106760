// The wire and log form of a counter's reset mark and expiry (TTL): one
// tuple per counter, and the pure reader that checks an untrusted list of
// them in full before anything is merged. See docs/protocol.md, "Reset marks
// and expiry".

import { isValidName, isValidReplicaId, type Ttl } from '@tally/crdt'

/** A TTL version on the wire: `[at | null, setBy, stamp]` (see `Ttl` of @tally/crdt). */
export type TtlTuple = [at: number | null, setBy: string, stamp: number]

/**
 * One counter's replicated lifecycle state: its reset mark (per replica, the
 * increment and decrement totals resets have observed) and its TTL register
 * (0 when never set). Merged per entry by max, the TTL by last writer wins.
 */
export type MarkTuple = [
  name: string,
  p: Record<string, number>,
  n: Record<string, number>,
  ttl: TtlTuple | 0,
]

/** Most tuples accepted in one message or log row (senders split bigger sets). */
export const MAX_MARK_TUPLES = 2_000
/** Most replica entries in one table of one tuple. */
export const MAX_MARK_REPLICAS = 4_096

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

function isTable(x: unknown): x is Record<string, number> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  const keys = Object.keys(x)
  if (keys.length > MAX_MARK_REPLICAS) return false
  for (const k of keys) if (!isValidReplicaId(k) || !isCount((x as Record<string, unknown>)[k])) return false
  return true
}

/** True for a well-formed TTL tuple. Pure; never throws. */
export function isTtlTuple(x: unknown): x is TtlTuple {
  return (
    Array.isArray(x) &&
    x.length === 3 &&
    (x[0] === null || isCount(x[0])) &&
    isValidReplicaId(x[1]) &&
    isCount(x[2])
  )
}

/** The TTL version of a tuple. Pure. */
export function ttlOf(t: TtlTuple): Ttl {
  return { at: t[0], setBy: t[1], stamp: t[2] }
}

/** The tuple of a TTL version. Pure. */
export function ttlTuple(t: Ttl): TtlTuple {
  return [t.at, t.setBy, t.stamp]
}

/**
 * Checks an untrusted list of mark tuples (at most {@link MAX_MARK_TUPLES};
 * names, replica ids, safe non-negative counts, TTL shape) and returns fresh
 * copies, or null when anything is wrong (then none of it may be used).
 * Pure; never throws.
 */
export function readMarkTuples(x: unknown): MarkTuple[] | null {
  if (!Array.isArray(x) || x.length > MAX_MARK_TUPLES) return null
  const out: MarkTuple[] = []
  for (const t of x) {
    if (!Array.isArray(t) || t.length !== 4) return null
    const [name, p, n, ttl] = t as unknown[]
    if (!isValidName(name) || !isTable(p) || !isTable(n)) return null
    if (ttl !== 0 && !isTtlTuple(ttl)) return null
    out.push([name, { ...p }, { ...n }, ttl === 0 ? 0 : [ttl[0], ttl[1], ttl[2]]])
  }
  return out
}
