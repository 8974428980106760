// The exact arithmetic over one counter's per-replica entries inside a
// CounterMap (totals, value, the pre-checks of a local operation), reading
// the columnar EntryTable.
import { END, type EntryTable } from './entry-table.js'
import { ErrorCodes, TallyError } from './errors.js'
import { describe } from './validate.js'

const MAX = Number.MAX_SAFE_INTEGER
const BIG_MAX = BigInt(MAX)

/**
 * Float totals Σp, Σn of counter number `c` (undefined: unknown, 0). Every
 * term is a non-negative safe integer, so each is exact while ≤ 2^53−1, and
 * > 2^53−1 exactly when the true total is.
 */
export function totals(t: EntryTable, c: number | undefined): [p: number, n: number] {
  let p = 0
  let n = 0
  if (c !== undefined) {
    for (let e = t.head(c); e !== END; e = t.next(e)) {
      p += t.p(e)
      n += t.n(e)
    }
  }
  return [p, n]
}

/** Exact totals Σp, Σn of counter number `c` as bigints. */
export function bigTotals(t: EntryTable, c: number | undefined): [p: bigint, n: bigint] {
  let p = 0n
  let n = 0n
  if (c !== undefined) {
    for (let e = t.head(c); e !== END; e = t.next(e)) {
      p += BigInt(t.p(e))
      n += BigInt(t.n(e))
    }
  }
  return [p, n]
}

function unsafe(v: bigint): boolean {
  return v > BIG_MAX || v < -BIG_MAX
}

/** Exact Σp − Σn of counter number `c` as a number; TALLY_VALUE_UNSAFE when outside ±(2^53−1). */
export function entriesValue(t: EntryTable, c: number | undefined, name: string): number {
  const [p, n] = totals(t, c)
  if (p <= MAX && n <= MAX) return p - n
  const [bp, bn] = bigTotals(t, c)
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
 * counter number `c` (named `name`) would take that total past 2^53−1
 * (TALLY_OVERFLOW) or leave the value outside ±(2^53−1) (TALLY_VALUE_UNSAFE:
 * only when merges took the other total past 2^53−1).
 */
export function checkLocal(
  t: EntryTable,
  c: number | undefined,
  field: 'p' | 'n',
  amount: number,
  name: string,
): void {
  const [p, n] = totals(t, c)
  const after = (field === 'p' ? p : n) + amount
  if (after > MAX) {
    throw new TallyError(
      ErrorCodes.OVERFLOW,
      `${field === 'p' ? 'increment' : 'decrement'} by ${amount} would take counter ${describe(name)} past 2^53-1`,
    )
  }
  if ((field === 'p' ? n : p) <= MAX) return
  const [bp, bn] = bigTotals(t, c)
  if (unsafe(field === 'p' ? BigInt(after) - bn : bp - BigInt(after))) {
    throw new TallyError(
      ErrorCodes.VALUE_UNSAFE,
      `counter ${describe(name)} would be outside the safe-integer range; use bigValue()`,
    )
  }
}
