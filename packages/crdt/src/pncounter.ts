import {
  bigSum,
  type Counts,
  checkLocalAdd,
  countsToObject,
  digestTables,
  exactValue,
  mergeCounts,
} from './counts.js'
import { readTables } from './gcounter.js'
import { assertAmount, assertReplicaId } from './validate.js'

/** Serialised PNCounter: per-replica increment (`p`) and decrement (`n`) totals. */
export interface PNCounterState {
  p: Record<string, number>
  n: Record<string, number>
}

/**
 * Increment/decrement counter: two grow-only tables, value = Σp − Σn,
 * merge = per-replica max of each. Converges whatever the order, duplication
 * or loss of merges, as long as every state eventually reaches every replica.
 */
export class PNCounter {
  /** This replica's id; local operations go to its entries. */
  readonly replica: string
  readonly #p: Counts = new Map()
  readonly #n: Counts = new Map()

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /**
   * Builds replica `replica` holding an untrusted `state` (a PNCounterState,
   * or a GCounterState: missing tables are empty). Throws TALLY_STATE_INVALID / TALLY_REPLICA_INVALID.
   */
  static fromState(replica: string, state: unknown): PNCounter {
    const c = new PNCounter(replica)
    c.merge(state)
    return c
  }

  /**
   * Adds `amount` (positive safe integer, default 1). Returns the new value.
   * Throws TALLY_AMOUNT_INVALID; TALLY_OVERFLOW when the increment total would
   * pass 2^53−1; TALLY_VALUE_UNSAFE when the resulting value would not be a
   * safe integer (only after merges took Σn past 2^53−1). Nothing changes when it throws.
   */
  increment(amount = 1): number {
    this.#add(this.#p, this.#n, amount, 1)
    return this.value
  }

  /** Subtracts `amount` (positive safe integer, default 1); as {@link increment} otherwise, with Σn bounded. */
  decrement(amount = 1): number {
    this.#add(this.#n, this.#p, amount, -1)
    return this.value
  }

  #add(own: Counts, other: Counts, amount: number, sign: 1 | -1): void {
    assertAmount(amount)
    checkLocalAdd(own, other, amount, sign, 'the counter')
    own.set(this.replica, (own.get(this.replica) ?? 0) + amount)
  }

  /**
   * Σp − Σn, exact. Throws TALLY_VALUE_UNSAFE only when that exact value is
   * outside ±(2^53−1) (possible after merges of concurrent large totals); read it with `bigValue`.
   */
  get value(): number {
    return exactValue(this.#p, this.#n, 'the counter')
  }

  /** Exact Σp − Σn as a bigint; never throws. */
  get bigValue(): bigint {
    return bigSum(this.#p) - bigSum(this.#n)
  }

  /** A plain copy of the state (zero entries omitted). O(replicas). */
  state(): PNCounterState {
    return { p: countsToObject(this.#p), n: countsToObject(this.#n) }
  }

  /**
   * A short string equal for two replicas iff their states are equal (up to a
   * 2^-64 hash collision). Order-independent; zero entries do not count. O(replicas).
   */
  digest(): string {
    return digestTables([
      ['p', this.#p],
      ['n', this.#n],
    ])
  }

  /**
   * Per-replica max with an untrusted state `{ p?, n? }`. Everything is
   * validated before anything is applied: on TALLY_STATE_INVALID this counter
   * is unchanged. Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    const { p, n } = readTables(state, ['p', 'n'])
    const a = mergeCounts(this.#p, p)
    const b = mergeCounts(this.#n, n)
    return a || b
  }
}
