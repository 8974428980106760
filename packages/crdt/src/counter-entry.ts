// One counter's per-replica entries inside a CounterMap, and the exact
// arithmetic over them (totals, value, the pre-checks of a local operation).
import { ErrorCodes, TallyError } from './errors.js'
import { describe } from './validate.js'

const MAX = Number.MAX_SAFE_INTEGER
const BIG_MAX = BigInt(MAX)

/** One replica's entry of one counter, plus its cached digest contribution. */
export interface Entry {
  p: number
  n: number
  seq: number
  // Hash of (name, replica), computed once; the entry's digest contribution
  // mixes p, n and seq into it.
  b1: number
  b2: number
  // Current contribution to the digest accumulators, so an update is O(1).
  h1: number
  h2: number
}

/**
 * Float totals Σp, Σn. Every term is a non-negative safe integer, so each is
 * exact while ≤ 2^53−1, and > 2^53−1 exactly when the true total is.
 */
export function totals(byReplica: ReadonlyMap<string, Entry> | undefined): [p: number, n: number] {
  let p = 0
  let n = 0
  if (byReplica) {
    for (const e of byReplica.values()) {
      p += e.p
      n += e.n
    }
  }
  return [p, n]
}

/** Exact totals Σp, Σn as bigints. */
export function bigTotals(byReplica: ReadonlyMap<string, Entry> | undefined): [p: bigint, n: bigint] {
  let p = 0n
  let n = 0n
  if (byReplica) {
    for (const e of byReplica.values()) {
      p += BigInt(e.p)
      n += BigInt(e.n)
    }
  }
  return [p, n]
}

function unsafe(v: bigint): boolean {
  return v > BIG_MAX || v < -BIG_MAX
}

/** Exact Σp − Σn as a number; TALLY_VALUE_UNSAFE when outside ±(2^53−1). */
export function entriesValue(byReplica: ReadonlyMap<string, Entry> | undefined, name: string): number {
  const [p, n] = totals(byReplica)
  if (p <= MAX && n <= MAX) return p - n
  const [bp, bn] = bigTotals(byReplica)
  if (unsafe(bp - bn)) {
    throw new TallyError(
      ErrorCodes.VALUE_UNSAFE,
      `counter ${describe(name)} is outside the safe-integer range; use bigValue()`,
    )
  }
  return Number(bp - bn)
}

/**
 * Throws, before anything changes, when adding `amount` to total `field` of
 * counter `name` would take that total past 2^53−1 (TALLY_OVERFLOW) or leave
 * the value outside ±(2^53−1) (TALLY_VALUE_UNSAFE: only when merges took the
 * other total past 2^53−1).
 */
export function checkLocal(
  byReplica: ReadonlyMap<string, Entry> | undefined,
  field: 'p' | 'n',
  amount: number,
  name: string,
): void {
  const [p, n] = totals(byReplica)
  const after = (field === 'p' ? p : n) + amount
  if (after > MAX) {
    throw new TallyError(
      ErrorCodes.OVERFLOW,
      `${field === 'p' ? 'increment' : 'decrement'} by ${amount} would take counter ${describe(name)} past 2^53-1`,
    )
  }
  if ((field === 'p' ? n : p) <= MAX) return
  const [bp, bn] = bigTotals(byReplica)
  if (unsafe(field === 'p' ? BigInt(after) - bn : bp - BigInt(after))) {
    throw new TallyError(
      ErrorCodes.VALUE_UNSAFE,
      `counter ${describe(name)} would be outside the safe-integer range; use bigValue()`,
    )
  }
}
