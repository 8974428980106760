// Per-replica count tables shared by GCounter and PNCounter: reading them from
// untrusted input, merging, exact summing, and their digest contribution.
import { ErrorCodes, TallyError } from './errors.js'
import { formatDigest, hashString, mixNumber } from './hash.js'
import { describe, isCount, isPlainObject, isValidReplicaId } from './validate.js'

/** A replica id → total table. Only positive totals are stored. */
export type Counts = Map<string, number>

/**
 * Reads and checks an untrusted per-replica count table into a fresh Map
 * (each value read once, zero entries dropped). Throws TALLY_STATE_INVALID
 * naming the first problem; never returns partial data.
 */
export function readCounts(x: unknown, what: string): Counts {
  if (!isPlainObject(x))
    throw new TallyError(ErrorCodes.STATE_INVALID, `${what} must be an object, got ${describe(x)}`)
  const out: Counts = new Map()
  for (const key of Object.keys(x)) {
    if (!isValidReplicaId(key)) {
      throw new TallyError(ErrorCodes.STATE_INVALID, `${what} has an invalid replica id ${describe(key)}`)
    }
    const v = x[key]
    if (!isCount(v)) {
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `${what}[${describe(key)}] must be a non-negative safe integer, got ${describe(v)}`,
      )
    }
    if (v > 0) out.set(key, v)
  }
  return out
}

/** Per-replica max of two count tables, into `into`. Returns true if `into` changed. */
export function mergeCounts(into: Counts, from: Counts): boolean {
  let changed = false
  for (const [r, v] of from) {
    if (v > (into.get(r) ?? 0)) {
      into.set(r, v)
      changed = true
    }
  }
  return changed
}

/**
 * Float sum of a table. Every term is a non-negative safe integer, so while
 * the exact sum is ≤ 2^53−1 every partial sum is exact, and once the exact sum
 * passes 2^53−1 the float result is ≥ 2^53: `floatSum(t) > MAX_SAFE_INTEGER`
 * is an exact test of the exact sum.
 */
export function floatSum(counts: Counts): number {
  let total = 0
  for (const v of counts.values()) total += v
  return total
}

/** Exact sum of a table as a bigint. */
export function bigSum(counts: Counts): bigint {
  let total = 0n
  for (const v of counts.values()) total += BigInt(v)
  return total
}

/** `x` as a number when it is a safe integer; otherwise throws TALLY_VALUE_UNSAFE. */
export function toSafeNumber(x: bigint, what: string): number {
  if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TallyError(
      ErrorCodes.VALUE_UNSAFE,
      `${what} is outside the safe-integer range; read it with bigValue`,
    )
  }
  return Number(x)
}

/**
 * Exact Σp − Σn as a number. Fast path when both totals are safe (then the
 * difference is too); otherwise computed in bigint, and TALLY_VALUE_UNSAFE
 * only when the exact difference itself is outside ±(2^53−1).
 */
export function exactValue(p: Counts, n: Counts, what: string): number {
  const sp = floatSum(p)
  const sn = floatSum(n)
  if (sp <= Number.MAX_SAFE_INTEGER && sn <= Number.MAX_SAFE_INTEGER) return sp - sn
  return toSafeNumber(bigSum(p) - bigSum(n), what)
}

/**
 * Checks that adding `amount` to the `own` table keeps its total ≤ 2^53−1
 * (else TALLY_OVERFLOW) and that the value afterwards is still a safe number
 * (else TALLY_VALUE_UNSAFE, possible only after merges took the `other`
 * table past 2^53−1). Call before changing anything.
 */
export function checkLocalAdd(own: Counts, other: Counts, amount: number, sign: 1 | -1, what: string): void {
  const after = floatSum(own) + amount
  if (after > Number.MAX_SAFE_INTEGER) {
    throw new TallyError(ErrorCodes.OVERFLOW, `adding ${amount} would take a total of ${what} past 2^53-1`)
  }
  if (floatSum(other) > Number.MAX_SAFE_INTEGER) {
    toSafeNumber(BigInt(sign) * (BigInt(after) - bigSum(other)), `the value of ${what} after this operation`)
  }
}

/** Plain-object copy of a table. */
export function countsToObject(counts: Counts): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [r, v] of counts) out[r] = v
  return out
}

/**
 * Order-independent digest of tagged tables (`p`, `n`): equal iff the tables
 * hold the same positive entries, up to a 2^-64 collision. O(entries).
 * A GCounter and a PNCounter with the same `p` and empty `n` digest equal.
 */
export function digestTables(tables: ReadonlyArray<readonly [tag: string, counts: Counts]>): string {
  let h1 = 0
  let h2 = 0
  let count = 0
  for (const [tag, table] of tables) {
    for (const [r, v] of table) {
      const h = mixNumber(hashString(`${tag}\u0000${r}`), v)
      h1 = (h1 + h.h1) >>> 0
      h2 = (h2 + h.h2) >>> 0
      count++
    }
  }
  return formatDigest(count, { h1, h2 })
}
