import { ErrorCodes, TallyError } from './errors.js'
import { bigSumCounts, countsToObject, mergeCounts, readCounts, sumCounts } from './gcounter.js'
import { formatDigest, hashString, mixNumber } from './hash.js'
import { assertAmount, assertReplicaId, describe, isPlainObject } from './validate.js'

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
  readonly #p = new Map<string, number>()
  readonly #n = new Map<string, number>()

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /** Builds replica `replica` holding an untrusted `state`. Throws TALLY_STATE_INVALID / TALLY_REPLICA_INVALID. */
  static fromState(replica: string, state: unknown): PNCounter {
    const c = new PNCounter(replica)
    c.merge(state)
    return c
  }

  /** Adds `amount` (positive safe integer, default 1). Returns the new value. Throws TALLY_AMOUNT_INVALID / TALLY_OVERFLOW; nothing changes then. */
  increment(amount = 1): number {
    this.#add(this.#p, amount)
    return this.value
  }

  /** Subtracts `amount` (positive safe integer, default 1). Returns the new value. Throws TALLY_AMOUNT_INVALID / TALLY_OVERFLOW; nothing changes then. */
  decrement(amount = 1): number {
    this.#add(this.#n, amount)
    return this.value
  }

  #add(table: Map<string, number>, amount: number): void {
    assertAmount(amount)
    if (sumCounts(table) + amount > Number.MAX_SAFE_INTEGER) {
      throw new TallyError(ErrorCodes.OVERFLOW, `adding ${amount} would take a total past 2^53-1`)
    }
    table.set(this.replica, (table.get(this.replica) ?? 0) + amount)
  }

  /** Σp − Σn. Throws TALLY_VALUE_UNSAFE if merges took a total past 2^53−1 (use `bigValue`). */
  get value(): number {
    return sumCounts(this.#p) - sumCounts(this.#n)
  }

  /** Exact Σp − Σn as a bigint; never throws. */
  get bigValue(): bigint {
    return bigSumCounts(this.#p) - bigSumCounts(this.#n)
  }

  /** A plain copy of the state (zero entries omitted). */
  state(): PNCounterState {
    return { p: countsToObject(this.#p), n: countsToObject(this.#n) }
  }

  /**
   * A short string equal for two replicas iff their states are equal (up to a
   * 2^-64 hash collision). Order-independent; zero entries do not count.
   */
  digest(): string {
    let h1 = 0
    let h2 = 0
    let count = 0
    for (const [tag, table] of [['p', this.#p] as const, ['n', this.#n] as const]) {
      for (const [r, v] of table) {
        const h = mixNumber(hashString(`${tag}\u0000${r}`), v)
        h1 = (h1 + h.h1) >>> 0
        h2 = (h2 + h.h2) >>> 0
        count++
      }
    }
    return formatDigest(count, { h1, h2 })
  }

  /**
   * Per-replica max with an untrusted state. Everything is validated before
   * anything is applied: on TALLY_STATE_INVALID this counter is unchanged.
   * Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    if (!isPlainObject(state))
      throw new TallyError(ErrorCodes.STATE_INVALID, `state must be an object, got ${describe(state)}`)
    const p = readCounts(state.p ?? {}, 'state.p')
    const n = readCounts(state.n ?? {}, 'state.n')
    const a = mergeCounts(this.#p, p)
    const b = mergeCounts(this.#n, n)
    return a || b
  }
}
