import {
  type BoundedCounterDelta,
  type BoundedCounterState,
  type BoundedTables,
  checkConsistent,
  digestBounded,
  emptyTables,
  readBounded,
  replicasOf,
  rightsBig,
  tablesEqual,
  tablesToState,
} from './bounded-state.js'
import { bigSum, type Counts, checkLocalAdd, exactValue, toSafeNumber } from './counts.js'
import { BoundExceededError, ErrorCodes, TallyError } from './errors.js'
import { assertAmount, assertReplicaId, describe } from './validate.js'

const MAX = Number.MAX_SAFE_INTEGER

/**
 * A counter that never goes below zero, even when replicas cannot talk,
 * without routing decrements through a leader: an escrow of **rights**
 * (Balegas et al., "Extending Eventually Consistent Cloud Databases for
 * Enforcing Numeric Invariants"; AntidoteDB's bounded counter), floor 0.
 *
 * State: per replica its increments `p`, its decrements `n`, and the rights
 * it gave each other replica `r[from][to]`, all grow-only. Rights of replica
 * i = p[i] + Σ_j r[j][i] − Σ_j r[i][j] − n[i]; value = Σp − Σn = Σ rights.
 * An increment creates rights at its replica; a decrement spends local
 * rights and is refused (TALLY_BOUND_EXCEEDED) when they do not suffice; a
 * transfer gives local rights to another replica. Only a replica spends or
 * gives away its own rights, and it checks them in its own view, so no
 * replica's rights and no value is ever negative, in any replica's view.
 *
 * Merge is the per-entry max (commutative, associative, idempotent). Each
 * operation returns a delta to replicate; a decrement's or transfer's delta
 * is the whole state, which carries the increments and transfers that gave
 * the replica its rights (see the README for why a smaller delta could show
 * a receiver a negative value).
 */
export class BoundedCounter {
  /** This replica's id; local operations spend and create its rights. */
  readonly replica: string
  readonly #t: BoundedTables = emptyTables()

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /**
   * Builds replica `replica` holding an untrusted `state`. Throws
   * TALLY_REPLICA_INVALID, or TALLY_STATE_INVALID for a malformed state
   * or one that gives some replica negative rights.
   */
  static fromState(replica: string, state: unknown): BoundedCounter {
    const c = new BoundedCounter(replica)
    c.merge(state)
    return c
  }

  /**
   * Adds `amount` (positive safe integer, default 1): `amount` new rights at
   * this replica. Returns the delta `{ p: { [replica]: total } }`. Throws
   * TALLY_AMOUNT_INVALID; TALLY_OVERFLOW when the increment total Σp would
   * pass 2^53−1; TALLY_VALUE_UNSAFE when the value would not be a safe
   * integer. Nothing changes when it throws.
   */
  increment(amount = 1): BoundedCounterDelta {
    assertAmount(amount)
    checkLocalAdd(this.#t.p, this.#t.n, amount, 1, 'the bounded counter')
    const total = (this.#t.p.get(this.replica) ?? 0) + amount
    this.#t.p.set(this.replica, total)
    // Rights only grow from an increment: it needs no context at the receiver.
    return { p: { [this.replica]: total } }
  }

  /**
   * Subtracts `amount` (positive safe integer, default 1), spending this
   * replica's rights. Returns the delta (the whole state). Throws
   * TALLY_AMOUNT_INVALID; TALLY_BOUND_EXCEEDED (a {@link BoundExceededError}
   * with `localRights` and `value`) when this replica holds fewer than
   * `amount` rights, even if the value is larger: rights elsewhere must be
   * transferred here first; TALLY_OVERFLOW when the decrement total would
   * pass 2^53−1; TALLY_VALUE_UNSAFE when the value afterwards would still be
   * above 2^53−1 (only after merges of concurrent large increments; as
   * PNCounter). Nothing changes when it throws.
   */
  decrement(amount = 1): BoundedCounterState {
    assertAmount(amount)
    this.#spend(amount, 'decrement')
    checkLocalAdd(this.#t.n, this.#t.p, amount, -1, 'the bounded counter')
    this.#t.n.set(this.replica, (this.#t.n.get(this.replica) ?? 0) + amount)
    return this.state()
  }

  /**
   * Gives `amount` (positive safe integer) of this replica's rights to
   * replica `to`. Returns the delta (the whole state: the receiver must see
   * where the rights came from). Throws TALLY_REPLICA_INVALID for a bad `to`
   * or `to` = this replica; TALLY_AMOUNT_INVALID; TALLY_BOUND_EXCEEDED when
   * this replica holds fewer than `amount` rights; TALLY_OVERFLOW when the
   * total given to `to` would pass 2^53−1. Nothing changes when it throws.
   */
  transfer(to: string, amount: number): BoundedCounterState {
    assertReplicaId(to)
    if (to === this.replica)
      throw new TallyError(ErrorCodes.REPLICA_INVALID, 'a replica cannot transfer rights to itself')
    assertAmount(amount)
    this.#spend(amount, `transfer to ${describe(to)}`)
    let row = this.#t.r.get(this.replica)
    const total = (row?.get(to) ?? 0) + amount
    if (total > MAX) {
      throw new TallyError(
        ErrorCodes.OVERFLOW,
        `transferring ${amount} would take the rights given to ${describe(to)} past 2^53-1`,
      )
    }
    if (!row) {
      row = new Map()
      this.#t.r.set(this.replica, row)
    }
    row.set(to, total)
    return this.state()
  }

  #spend(amount: number, what: string): void {
    const rights = rightsBig(this.#t, this.replica)
    if (rights >= BigInt(amount)) return
    const value = bigSum(this.#t.p) - bigSum(this.#t.n)
    const facts = {
      // rights < amount ≤ 2^53−1 here, so the number is exact.
      localRights: Number(rights),
      value: value > BigInt(MAX) ? MAX : Number(value),
      requested: amount,
    }
    throw new BoundExceededError(
      `${what} of ${amount} refused: replica ${describe(this.replica)} holds ${facts.localRights} rights (value ${facts.value}); get rights transferred here first`,
      facts,
    )
  }

  /**
   * Σp − Σn, exact, never negative. Throws TALLY_VALUE_UNSAFE only when it
   * is above 2^53−1 (possible after merges of concurrent large increments);
   * read it with `bigValue`.
   */
  get value(): number {
    return exactValue(this.#t.p, this.#t.n, 'the bounded counter')
  }

  /** Exact Σp − Σn as a bigint; never throws. */
  get bigValue(): bigint {
    return bigSum(this.#t.p) - bigSum(this.#t.n)
  }

  /** Rights this replica may spend or give away now (≥ 0). O(replicas). TALLY_VALUE_UNSAFE past 2^53−1. */
  get localRights(): number {
    return this.rights(this.replica)
  }

  /**
   * Rights of `replica` as this view knows them (0 for an unknown replica;
   * never negative). Another replica's figure is a hint: it may have spent
   * or received rights since. O(replicas). TALLY_VALUE_UNSAFE past 2^53−1.
   */
  rights(replica: string): number {
    return toSafeNumber(rightsBig(this.#t, replica), `the rights of ${describe(replica)}`)
  }

  /** Every replica id this view knows (increments, decrements, transfers), sorted. */
  replicas(): string[] {
    return [...replicasOf(this.#t)].sort()
  }

  /** A plain copy of the state (zero entries omitted). O(entries). */
  state(): BoundedCounterState {
    return tablesToState(this.#t)
  }

  /**
   * A short string equal for two replicas iff their states are equal (up to
   * a 2^-64 hash collision). Order-independent. O(entries).
   */
  digest(): string {
    return digestBounded(this.#t)
  }

  /** True when `other` holds exactly the same state (replica ids aside). O(entries). */
  equals(other: BoundedCounter): boolean {
    return tablesEqual(this.#t, other.#t)
  }

  /**
   * Per-entry max with an untrusted state `{ p?, n?, r? }`. Validates all of
   * it first, and refuses (TALLY_STATE_INVALID, nothing changed) a malformed
   * state, one that gives some replica negative rights on its own, or one
   * whose merge would (states that do not come from one history: a replica
   * id reused after its state was lost, or a forged state). Returns true if
   * anything changed. O(entries × replicas) at worst.
   */
  merge(state: unknown): boolean {
    return this.#join(readBounded(state, ErrorCodes.STATE_INVALID, 'state'), ErrorCodes.STATE_INVALID)
  }

  /**
   * Merges an untrusted delta (from an operation, or a whole state, relayed or
   * not). Idempotent and order-independent; as {@link merge}, with
   * TALLY_DELTA_INVALID. Returns true if anything changed.
   */
  applyDelta(delta: unknown): boolean {
    return this.#join(readBounded(delta, ErrorCodes.DELTA_INVALID, 'delta'), ErrorCodes.DELTA_INVALID)
  }

  #join(
    from: BoundedTables,
    code: typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID,
  ): boolean {
    const undo: Array<() => void> = []
    // Replicas whose rights went down: only they can have become negative.
    const lowered = new Set<string>()
    let changed = false
    const raise = (table: Counts, key: string, v: number): boolean => {
      const old = table.get(key)
      if (v <= (old ?? 0)) return false
      table.set(key, v)
      undo.push(() => (old === undefined ? table.delete(key) : table.set(key, old)))
      changed = true
      return true
    }
    for (const [r, v] of from.p) raise(this.#t.p, r, v)
    for (const [r, v] of from.n) if (raise(this.#t.n, r, v)) lowered.add(r)
    for (const [giver, inRow] of from.r) {
      let row = this.#t.r.get(giver)
      if (!row) {
        const fresh: Counts = new Map()
        row = fresh
        this.#t.r.set(giver, fresh)
        undo.push(() => this.#t.r.delete(giver))
      }
      for (const [to, v] of inRow) if (raise(row, to, v)) lowered.add(giver)
    }
    try {
      checkConsistent(
        this.#t,
        lowered,
        code,
        code === ErrorCodes.STATE_INVALID ? 'merging this state' : 'applying this delta',
      )
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.()
      throw err
    }
    return changed
  }
}

export type { BoundedCounterDelta, BoundedCounterState }
