import {
  bigSum,
  type Counts,
  countsToObject,
  digestTables,
  exactValue,
  floatSum,
  mergeCounts,
  readCounts,
  toSafeNumber,
} from './counts.js'
import { ErrorCodes, TallyError } from './errors.js'
import { assertAmount, assertReplicaId, describe, guard, isPlainObject, unknownKey } from './validate.js'

/**
 * Serialised ResettableCounter: per-replica increment (`p`) and decrement
 * (`n`) totals, as a PNCounter, plus the reset `mark`: the per-replica totals
 * that resets have observed (and so removed). Invariant: every mark entry is
 * ≤ the matching total.
 */
export interface ResettableCounterState {
  p: Record<string, number>
  n: Record<string, number>
  mark: { p: Record<string, number>; n: Record<string, number> }
}

/**
 * A delta to replicate: an increment's or decrement's carries one total; a
 * reset's is the whole state (the mark needs the totals it covers, or a
 * receiver would hold a mark above its totals). Merge it anywhere.
 */
export type ResettableCounterDelta = {
  p?: Record<string, number>
  n?: Record<string, number>
  mark?: { p?: Record<string, number>; n?: Record<string, number> }
}

interface Tables {
  p: Counts
  n: Counts
  mp: Counts
  mn: Counts
}

/** Totals above the mark, per replica (only positive differences). */
function live(total: Counts, mark: Counts): Counts {
  const out: Counts = new Map()
  for (const [r, v] of total) {
    const d = v - (mark.get(r) ?? 0)
    if (d > 0) out.set(r, d)
  }
  return out
}

/** Throws TALLY_STATE_INVALID naming the first mark entry above its total. */
function checkCovered(total: Counts, mark: Counts, what: string): void {
  for (const [r, m] of mark) {
    const t = total.get(r) ?? 0
    if (m > t) {
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `state.mark.${what}[${describe(r)}] is ${m}, above the ${what} total ${t} it claims to have observed`,
      )
    }
  }
}

/**
 * Reads an untrusted `{ p?, n?, mark?: { p?, n? } }` (nothing else allowed),
 * checking that the mark never exceeds the totals of the same state. Throws
 * TALLY_STATE_INVALID whatever the input does; never returns partial data.
 */
export function readResettable(state: unknown): Tables {
  return guard(ErrorCodes.STATE_INVALID, 'state', () => {
    if (!isPlainObject(state))
      throw new TallyError(ErrorCodes.STATE_INVALID, `state must be an object, got ${describe(state)}`)
    const extra = unknownKey(state, ['p', 'n', 'mark'])
    if (extra !== undefined)
      throw new TallyError(ErrorCodes.STATE_INVALID, `state has an unknown field ${describe(extra)}`)
    const table = (x: unknown, what: string): Counts => (x === undefined ? new Map() : readCounts(x, what))
    const p = table(state.p, 'state.p')
    const n = table(state.n, 'state.n')
    const mark = state.mark
    let mp: Counts = new Map()
    let mn: Counts = new Map()
    if (mark !== undefined) {
      if (!isPlainObject(mark))
        throw new TallyError(ErrorCodes.STATE_INVALID, `state.mark must be an object, got ${describe(mark)}`)
      const extraMark = unknownKey(mark, ['p', 'n'])
      if (extraMark !== undefined)
        throw new TallyError(
          ErrorCodes.STATE_INVALID,
          `state.mark has an unknown field ${describe(extraMark)}`,
        )
      mp = table(mark.p, 'state.mark.p')
      mn = table(mark.n, 'state.mark.n')
    }
    checkCovered(p, mp, 'p')
    checkCovered(n, mn, 'n')
    return { p, n, mp, mn }
  })
}

/**
 * A PN-counter that can be deleted (reset to 0) with **observed-reset**
 * semantics: a reset removes exactly the increments and decrements the
 * resetting replica had seen; those made concurrently elsewhere survive and
 * count from zero. After a reset the counter reads 0 and can be reused.
 *
 * State: PNCounter totals `p`, `n` plus a reset mark `mark.p`, `mark.n` (the
 * totals observed by resets). Merge = per-entry max of all four tables
 * (commutative, associative, idempotent); since each state's mark is ≤ its
 * totals, the merged mark is ≤ the merged totals. Value =
 * Σ (p[i] − mark.p[i]) − Σ (n[i] − mark.n[i]). Reset = mark := totals
 * (idempotent; concurrent resets merge to the larger mark).
 *
 * Totals keep growing across resets: `increment` refuses (TALLY_OVERFLOW) once
 * Σp would pass 2^53−1 over the counter's whole life, as PNCounter.
 */
export class ResettableCounter {
  /** This replica's id; local operations go to its entries. */
  readonly replica: string
  readonly #t: Tables = { p: new Map(), n: new Map(), mp: new Map(), mn: new Map() }

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /**
   * Builds replica `replica` holding an untrusted `state` (a
   * ResettableCounterState; a PNCounterState is one with no mark). Throws
   * TALLY_REPLICA_INVALID / TALLY_STATE_INVALID.
   */
  static fromState(replica: string, state: unknown): ResettableCounter {
    const c = new ResettableCounter(replica)
    c.merge(state)
    return c
  }

  /**
   * Adds `amount` (positive safe integer, default 1). Returns the delta
   * `{ p: { [replica]: total } }`, plus `mark: { p: { [replica]: m } }` when
   * this replica's own total has a mark `m` > 0: a delta carries the mark of
   * the total it carries, so a receiver that dropped the counter (garbage
   * collection, reset-gc.ts) reads the same value as one that kept it.
   * Throws TALLY_AMOUNT_INVALID; TALLY_OVERFLOW when Σp (over the counter's
   * life, resets included) would pass 2^53−1; TALLY_VALUE_UNSAFE when the
   * value afterwards would not be a safe integer. Nothing changes when it throws.
   */
  increment(amount = 1): ResettableCounterDelta {
    const total = this.#add(this.#t.p, amount, 1)
    const m = this.#t.mp.get(this.replica)
    const d: ResettableCounterDelta = { p: { [this.replica]: total } }
    if (m !== undefined) d.mark = { p: { [this.replica]: m } }
    return d
  }

  /** Subtracts `amount` (positive safe integer, default 1); returns `{ n: { [replica]: total } }` (with `mark.n` as {@link increment}). As {@link increment} otherwise. */
  decrement(amount = 1): ResettableCounterDelta {
    const total = this.#add(this.#t.n, amount, -1)
    const m = this.#t.mn.get(this.replica)
    const d: ResettableCounterDelta = { n: { [this.replica]: total } }
    if (m !== undefined) d.mark = { n: { [this.replica]: m } }
    return d
  }

  #add(own: Counts, amount: number, sign: 1 | -1): number {
    assertAmount(amount)
    if (floatSum(own) + amount > Number.MAX_SAFE_INTEGER) {
      throw new TallyError(
        ErrorCodes.OVERFLOW,
        `adding ${amount} would take a total of the counter past 2^53-1`,
      )
    }
    const { p, n, mp, mn } = this.#t
    const lp = bigSum(live(p, mp))
    const ln = bigSum(live(n, mn))
    const after = sign === 1 ? lp + BigInt(amount) - ln : lp - ln - BigInt(amount)
    toSafeNumber(after, 'the value of the counter after this operation')
    const total = (own.get(this.replica) ?? 0) + amount
    own.set(this.replica, total)
    return total
  }

  /**
   * Deletes what this replica has observed: the mark becomes the current
   * totals, so the value reads 0 here. Operations this replica has not seen
   * survive wherever they meet this reset. Idempotent. Returns the delta (the
   * whole state). Never throws.
   */
  reset(): ResettableCounterState {
    mergeCounts(this.#t.mp, this.#t.p)
    mergeCounts(this.#t.mn, this.#t.n)
    return this.state()
  }

  /**
   * Deletes this replica's own writes only: the mark of this replica's
   * entries becomes its totals, other replicas' entries are untouched. This
   * is how an expiry is applied (see `ttl.ts`): each replica removes the
   * operations it made before its own clock passed the expiry, so no
   * replica's skew removes another's later writes. Idempotent; never throws.
   * Returns the delta (this replica's totals and their mark).
   */
  resetOwn(): ResettableCounterDelta {
    const r = this.replica
    const p = this.#t.p.get(r) ?? 0
    const n = this.#t.n.get(r) ?? 0
    if (p > 0) this.#t.mp.set(r, p)
    if (n > 0) this.#t.mn.set(r, n)
    const one = (v: number): Record<string, number> => (v > 0 ? { [r]: v } : {})
    return { p: one(p), n: one(n), mark: { p: one(p), n: one(n) } }
  }

  /**
   * Σ (p − mark.p) − Σ (n − mark.n), exact. Throws TALLY_VALUE_UNSAFE only
   * when that value is outside ±(2^53−1) (read it with `bigValue`).
   */
  get value(): number {
    const { p, n, mp, mn } = this.#t
    return exactValue(live(p, mp), live(n, mn), 'the counter')
  }

  /** Exact value as a bigint; never throws. */
  get bigValue(): bigint {
    const { p, n, mp, mn } = this.#t
    return bigSum(live(p, mp)) - bigSum(live(n, mn))
  }

  /**
   * True when the mark covers every total: the value is 0 and no operation
   * lies beyond the last reset (a deleted counter not written since). A
   * counter whose increments and decrements cancel is not empty.
   */
  get isEmpty(): boolean {
    const { p, n, mp, mn } = this.#t
    return live(p, mp).size === 0 && live(n, mn).size === 0
  }

  /** A plain copy of the state (zero entries omitted). O(replicas). */
  state(): ResettableCounterState {
    const { p, n, mp, mn } = this.#t
    return {
      p: countsToObject(p),
      n: countsToObject(n),
      mark: { p: countsToObject(mp), n: countsToObject(mn) },
    }
  }

  /**
   * A short string equal for two replicas iff their states are equal (up to
   * a 2^-64 collision). Order-independent; zero entries do not count. With an
   * empty mark it equals the digest of a PNCounter with the same totals.
   */
  digest(): string {
    const { p, n, mp, mn } = this.#t
    return digestTables([
      ['p', p],
      ['n', n],
      ['mark.p', mp],
      ['mark.n', mn],
    ])
  }

  /**
   * Per-entry max with an untrusted state `{ p?, n?, mark?: { p?, n? } }`.
   * Everything is validated first (including mark ≤ totals within that
   * state): on TALLY_STATE_INVALID nothing changes. Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    const s = readResettable(state)
    const a = mergeCounts(this.#t.p, s.p)
    const b = mergeCounts(this.#t.n, s.n)
    const c = mergeCounts(this.#t.mp, s.mp)
    const d = mergeCounts(this.#t.mn, s.mn)
    return a || b || c || d
  }

  /**
   * Applies a delta from `increment`, `decrement` or `reset` (any state
   * fragment: deltas are states). As {@link merge}, but a malformed delta
   * throws TALLY_DELTA_INVALID; nothing changes then.
   */
  applyDelta(delta: unknown): boolean {
    try {
      return this.merge(delta)
    } catch (err) {
      if (err instanceof TallyError && err.code === ErrorCodes.STATE_INVALID)
        throw new TallyError(ErrorCodes.DELTA_INVALID, err.message.replace(/^state/, 'delta'))
      throw err
    }
  }
}

/**
 * Garbage collection of a deleted counter: returns the empty state when
 * `ackedByAll` and the mark covers every total of `state` (the counter is
 * empty), otherwise a copy of `state` unchanged. The value is never changed
 * (it is 0 in the first case). Throws TALLY_STATE_INVALID for a malformed
 * state. Pure; O(replicas).
 *
 * `ackedByAll` is the caller's promise, and compaction is unsafe without it:
 * every replica's state and every state or delta that can still be
 * delivered acknowledges `state` (`acknowledges` in reset-gc.ts), writers'
 * deltas carry their own mark (as `increment`/`decrement` return them), and
 * the dropping replica keeps a floor (`raiseFloor`, `floorState`) so its
 * later writes are not swallowed by stale copies. See docs/crdt.md.
 */
export function compactResettable(state: unknown, ackedByAll: boolean): ResettableCounterState {
  const s = readResettable(state)
  const covered = live(s.p, s.mp).size === 0 && live(s.n, s.mn).size === 0
  if (ackedByAll && covered) return { p: {}, n: {}, mark: { p: {}, n: {} } }
  return {
    p: countsToObject(s.p),
    n: countsToObject(s.n),
    mark: { p: countsToObject(s.mp), n: countsToObject(s.mn) },
  }
}
