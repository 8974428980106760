// The value of a counter's totals under a reset mark, as ResettableCounter
// defines it, for holders that keep the totals and the mark apart (the
// daemon's CounterMap plus its marks, a gateway merging replica states).

import type { PNCounterState } from './pncounter.js'

/** A reset mark: per replica, the increment (`p`) and decrement (`n`) totals a reset had observed. */
export interface ResetMark {
  p: Readonly<Record<string, number>>
  n: Readonly<Record<string, number>>
}

/**
 * `Σ max(0, p[i] − mark.p[i]) − Σ max(0, n[i] − mark.n[i])`, exact, and
 * whether nothing lies beyond the mark (`empty`: every total is covered, the
 * counter reads as deleted). A mark entry above its total (the mark arrived
 * before the totals it covers) counts as covering that total: those
 * operations were deleted wherever they are merged. Pure; never throws;
 * O(replicas).
 */
export function markedValue(
  totals: Readonly<PNCounterState>,
  mark: Readonly<ResetMark>,
): { value: bigint; empty: boolean } {
  let value = 0n
  let empty = true
  for (const [r, t] of Object.entries(totals.p)) {
    const d = t - (mark.p[r] ?? 0)
    if (d > 0) {
      value += BigInt(d)
      empty = false
    }
  }
  for (const [r, t] of Object.entries(totals.n)) {
    const d = t - (mark.n[r] ?? 0)
    if (d > 0) {
      value -= BigInt(d)
      empty = false
    }
  }
  return { value, empty }
}
