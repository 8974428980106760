import { ErrorCodes, TallyError } from './errors.js'
import {
  assertAmount,
  assertReplicaId,
  describe,
  isCount,
  isPlainObject,
  isValidReplicaId,
} from './validate.js'

/** Serialised GCounter: per-replica increment totals. Plain, JSON- and msgpack-safe. */
export interface GCounterState {
  p: Record<string, number>
}

/**
 * Reads and checks an untrusted per-replica count table. Throws
 * TALLY_STATE_INVALID naming the first problem; never returns partial data.
 */
export function readCounts(x: unknown, what: string): Map<string, number> {
  if (!isPlainObject(x))
    throw new TallyError(ErrorCodes.STATE_INVALID, `${what} must be an object, got ${describe(x)}`)
  const out = new Map<string, number>()
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

/** Per-replica max of two count tables, in place. Returns true if `into` changed. */
export function mergeCounts(into: Map<string, number>, from: Map<string, number>): boolean {
  let changed = false
  for (const [r, v] of from) {
    if (v > (into.get(r) ?? 0)) {
      into.set(r, v)
      changed = true
    }
  }
  return changed
}

/** Sum of a count table; throws TALLY_VALUE_UNSAFE when it passes 2^53−1 (exact test: see `sum`). */
export function sumCounts(counts: Map<string, number>): number {
  let total = 0
  for (const v of counts.values()) total += v
  // Every term is a non-negative safe integer, so while the true sum is safe each partial
  // sum is exact; once the true sum passes 2^53−1 the float result is >= 2^53. One compare is exact.
  if (total > Number.MAX_SAFE_INTEGER) {
    throw new TallyError(ErrorCodes.VALUE_UNSAFE, 'counter total exceeds 2^53-1; read it with bigValue()')
  }
  return total
}

/** Exact sum of a count table as a bigint. */
export function bigSumCounts(counts: Map<string, number>): bigint {
  let total = 0n
  for (const v of counts.values()) total += BigInt(v)
  return total
}

export function countsToObject(counts: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [r, v] of counts) out[r] = v
  return out
}

/**
 * Grow-only counter: one non-decreasing total per replica, value = their sum,
 * merge = per-replica max. A replica only ever increments its own entry.
 */
export class GCounter {
  /** This replica's id; increments go to its entry. */
  readonly replica: string
  readonly #p = new Map<string, number>()

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /** Builds a replica `replica` holding `state`. Throws TALLY_STATE_INVALID / TALLY_REPLICA_INVALID. */
  static fromState(replica: string, state: unknown): GCounter {
    const c = new GCounter(replica)
    c.merge(state)
    return c
  }

  /**
   * Adds `amount` (default 1, a positive safe integer) to this replica's entry.
   * Throws TALLY_AMOUNT_INVALID, or TALLY_OVERFLOW when the total would pass 2^53−1; nothing changes then.
   */
  increment(amount = 1): number {
    assertAmount(amount)
    const total = this.#total()
    if (total + amount > Number.MAX_SAFE_INTEGER) {
      throw new TallyError(ErrorCodes.OVERFLOW, `increment by ${amount} would take the total past 2^53-1`)
    }
    this.#p.set(this.replica, (this.#p.get(this.replica) ?? 0) + amount)
    return total + amount
  }

  /** Current total. Throws TALLY_VALUE_UNSAFE if merged state made it pass 2^53−1 (use `bigValue`). */
  get value(): number {
    return sumCounts(this.#p)
  }

  /** Exact total as a bigint, never throws. */
  get bigValue(): bigint {
    return bigSumCounts(this.#p)
  }

  #total(): number {
    return sumCounts(this.#p)
  }

  /** A plain copy of the state (zero entries omitted). */
  state(): GCounterState {
    return { p: countsToObject(this.#p) }
  }

  /**
   * Per-replica max with an untrusted state. Validates all of it first: on
   * TALLY_STATE_INVALID nothing changes. Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    if (!isPlainObject(state))
      throw new TallyError(ErrorCodes.STATE_INVALID, `state must be an object, got ${describe(state)}`)
    const p = readCounts(state.p ?? {}, 'state.p')
    return mergeCounts(this.#p, p)
  }
}
