// The expiry (TTL) register of a counter: a last-writer-wins register whose
// value is an expiry time or an explicit "no expiry" (PERSIST), and the rule
// for when a replica applies an expiry. Pure; no clock is read here.
import { ErrorCodes, TallyError } from './errors.js'
import { describe, guard, isCount, isPlainObject, isValidReplicaId, unknownKey } from './validate.js'

/**
 * One version of a counter's expiry. `at`: the expiry, in ms since the Unix
 * epoch (a non-negative safe integer), or `null` for PERSIST (no expiry, a
 * value written like any other so it can win over a concurrent EXPIRE).
 * `stamp`: the writer's hybrid-logical-clock reading when it set the TTL (a
 * non-negative safe integer, ms-based); `setBy`: the writer's replica id.
 */
export interface Ttl {
  at: number | null
  setBy: string
  stamp: number
}

/**
 * Builds a TTL version after checking it; `at` null is PERSIST. Throws
 * TALLY_STATE_INVALID for a negative, fractional or unsafe `at` or `stamp`,
 * or a bad replica id (a TTL is state: the same checks as one off a wire).
 */
export function makeTtl(at: number | null, setBy: string, stamp: number): Ttl {
  return readTtl({ at, setBy, stamp })
}

/**
 * Reads an untrusted TTL `{ at, setBy, stamp }` (all three required, nothing
 * else) into a fresh object. Throws TALLY_STATE_INVALID, whatever the input.
 */
export function readTtl(x: unknown): Ttl {
  return guard(ErrorCodes.STATE_INVALID, 'ttl', () => {
    if (!isPlainObject(x))
      throw new TallyError(ErrorCodes.STATE_INVALID, `ttl must be an object, got ${describe(x)}`)
    const extra = unknownKey(x, ['at', 'setBy', 'stamp'])
    if (extra !== undefined)
      throw new TallyError(ErrorCodes.STATE_INVALID, `ttl has an unknown field ${describe(extra)}`)
    const { at, setBy, stamp } = x
    if (at !== null && !isCount(at))
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `ttl.at must be null (no expiry) or ms since the epoch as a non-negative safe integer, got ${describe(at)}`,
      )
    if (!isValidReplicaId(setBy))
      throw new TallyError(ErrorCodes.STATE_INVALID, `ttl.setBy must be a replica id, got ${describe(setBy)}`)
    if (!isCount(stamp))
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `ttl.stamp must be a non-negative safe integer, got ${describe(stamp)}`,
      )
    return { at, setBy, stamp }
  })
}

/**
 * Total order of TTL versions: by `stamp`, then `setBy` (code-unit order),
 * then `at` (PERSIST lowest). Returns <0, 0 or >0; 0 only for equal versions.
 */
export function compareTtl(a: Ttl, b: Ttl): number {
  if (a.stamp !== b.stamp) return a.stamp < b.stamp ? -1 : 1
  if (a.setBy !== b.setBy) return a.setBy < b.setBy ? -1 : 1
  if (a.at === b.at) return 0
  if (a.at === null) return -1
  if (b.at === null) return 1
  return a.at < b.at ? -1 : 1
}

/**
 * Last-writer-wins merge of two TTL versions: the greater by
 * {@link compareTtl}. Commutative, associative, idempotent. `undefined` is
 * "never set" and loses to anything. Never throws (inputs are trusted; read
 * wire input with {@link readTtl} first).
 */
export function mergeTtl(a: Ttl | undefined, b: Ttl | undefined): Ttl | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return compareTtl(a, b) >= 0 ? a : b
}

/**
 * True when `ttl` has expired by this replica's clock `now` (ms since the
 * epoch): `at` is set and `now − skewMs ≥ at`. With `skewMs` 0 (the
 * default) this is the replica's own view, which may be up to the clock
 * skew early or late in true time; with `skewMs` = a bound on |clock − true
 * time| it is true only once the expiry has certainly passed (never early,
 * up to 2·skewMs late). Throws RangeError for a non-finite `now` or a
 * negative or non-finite `skewMs`.
 */
export function expired(ttl: Ttl | undefined, now: number, skewMs = 0): boolean {
  if (!Number.isFinite(now)) throw new RangeError(`now must be a finite number of ms, got ${describe(now)}`)
  if (!Number.isFinite(skewMs) || skewMs < 0)
    throw new RangeError(`skewMs must be a finite number ≥ 0, got ${describe(skewMs)}`)
  return ttl !== undefined && ttl.at !== null && now - skewMs >= ttl.at
}

/**
 * True when this replica must apply `ttl`'s expiry now: it has expired by
 * {@link expired} and `applied` (the TTL version this replica last applied,
 * which the caller keeps durably with the counter) is not that version.
 * Applying = `counter.resetOwn()`, then remembering `ttl` as `applied`, so
 * each replica removes once, exactly, its own operations made before its
 * clock passed `at`. Throws as {@link expired}.
 */
export function expiryDue(ttl: Ttl | undefined, applied: Ttl | undefined, now: number, skewMs = 0): boolean {
  if (!expired(ttl, now, skewMs)) return false
  return applied === undefined || compareTtl(applied, ttl as Ttl) !== 0
}
