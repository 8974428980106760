import {
  bigSum,
  type Counts,
  checkLocalAdd,
  countsToObject,
  digestTables,
  floatSum,
  mergeCounts,
  readCounts,
  toSafeNumber,
} from './counts.js'
import { ErrorCodes, TallyError } from './errors.js'
import { assertAmount, assertReplicaId, describe, guard, isPlainObject, unknownKey } from './validate.js'

/** Serialised GCounter: per-replica increment totals. Plain, JSON- and msgpack-safe. */
export interface GCounterState {
  p: Record<string, number>
}

const NONE: Counts = new Map()

/**
 * Reads an untrusted counter state with the given table fields (each
 * optional, nothing else allowed). Throws TALLY_STATE_INVALID, whatever the
 * input does (throwing getters and proxies included).
 */
export function readTables<K extends string>(state: unknown, fields: readonly K[]): Record<K, Counts> {
  return guard(ErrorCodes.STATE_INVALID, 'state', () => {
    if (!isPlainObject(state))
      throw new TallyError(ErrorCodes.STATE_INVALID, `state must be an object, got ${describe(state)}`)
    const extra = unknownKey(state, fields)
    if (extra !== undefined)
      throw new TallyError(ErrorCodes.STATE_INVALID, `state has an unknown field ${describe(extra)}`)
    const out = {} as Record<K, Counts>
    for (const f of fields) {
      const t = state[f]
      out[f] = t === undefined ? new Map() : readCounts(t, `state.${f}`)
    }
    return out
  })
}

/**
 * Grow-only counter: one non-decreasing total per replica, value = their sum,
 * merge = per-replica max. A replica only ever increments its own entry.
 */
export class GCounter {
  /** This replica's id; increments go to its entry. */
  readonly replica: string
  readonly #p: Counts = new Map()

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /** Builds replica `replica` holding an untrusted `state`. Throws TALLY_STATE_INVALID / TALLY_REPLICA_INVALID. */
  static fromState(replica: string, state: unknown): GCounter {
    const c = new GCounter(replica)
    c.merge(state)
    return c
  }

  /**
   * Adds `amount` (default 1, a positive safe integer) to this replica's entry
   * and returns the new total. Throws TALLY_AMOUNT_INVALID, or TALLY_OVERFLOW
   * when the total would pass 2^53−1; nothing changes then.
   */
  increment(amount = 1): number {
    assertAmount(amount)
    checkLocalAdd(this.#p, NONE, amount, 1, 'the counter')
    this.#p.set(this.replica, (this.#p.get(this.replica) ?? 0) + amount)
    return floatSum(this.#p)
  }

  /** Current total. Throws TALLY_VALUE_UNSAFE if merges took it past 2^53−1 (then use `bigValue`). */
  get value(): number {
    const total = floatSum(this.#p)
    return total <= Number.MAX_SAFE_INTEGER ? total : toSafeNumber(bigSum(this.#p), 'the counter')
  }

  /** Exact total as a bigint; never throws. */
  get bigValue(): bigint {
    return bigSum(this.#p)
  }

  /** A plain copy of the state (zero entries omitted). O(replicas). */
  state(): GCounterState {
    return { p: countsToObject(this.#p) }
  }

  /**
   * Short string equal for two replicas iff their states are equal (up to a
   * 2^-64 collision); equals the digest of a PNCounter with the same `p` and no
   * decrements. O(replicas).
   */
  digest(): string {
    return digestTables([['p', this.#p]])
  }

  /**
   * Per-replica max with an untrusted state `{ p? }` (a GCounterState; a
   * PNCounterState is refused because its decrements would be lost).
   * Validates all of it first: on TALLY_STATE_INVALID nothing changes.
   * Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    const { p } = readTables(state, ['p'])
    return mergeCounts(this.#p, p)
  }
}
