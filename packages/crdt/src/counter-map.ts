import {
  type CounterMapState,
  type Delta,
  type EntryTuple,
  type RangeTuple,
  readDelta,
  readSummary,
  type Summary,
  stateToDelta,
} from './delta.js'
import { ErrorCodes, TallyError } from './errors.js'
import { formatDigest, hashString, mixNumber } from './hash.js'
import type { PNCounterState } from './pncounter.js'
import { ReplicaLog } from './replica-log.js'
import { assertAmount, assertName, assertReplicaId, describe } from './validate.js'

interface Entry {
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

/** Most out-of-order ranges remembered per replica while waiting for the gap before them. */
const MAX_PENDING_RANGES = 32

/**
 * Named PN-counters (one per tenant, page, item…) in one replica, with the
 * anti-entropy support a replicated daemon needs:
 *
 * - `digest()`: O(1), equal iff the states are equal (zero entries ignored).
 * - `summary()` / `deltaSince(summary)`: what this replica has that another
 *   lacks, proportional to the difference, not to the state.
 * - `applyDelta(delta)`: idempotent, commutative merge of such deltas.
 *
 * Each replica numbers its own operations (`seq`); every entry remembers the
 * seq of its last change; the version summary says, per replica, up to which
 * seq this holder has every change. See the package README for why this converges.
 */
export class CounterMap {
  /** This replica's id; local operations go to its entries. */
  readonly replica: string
  readonly #counters = new Map<string, Map<string, Entry>>()
  readonly #vv = new Map<string, number>()
  readonly #pending = new Map<string, Array<[number, number]>>()
  readonly #logs = new Map<string, ReplicaLog>()
  #h1 = 0
  #h2 = 0
  #entryCount = 0
  #seq = 0

  /** Throws TALLY_REPLICA_INVALID for a bad id. */
  constructor(replica: string) {
    assertReplicaId(replica)
    this.replica = replica
  }

  /** Builds replica `replica` holding an untrusted `state`. Throws TALLY_STATE_INVALID / TALLY_REPLICA_INVALID. */
  static fromState(replica: string, state: unknown): CounterMap {
    const m = new CounterMap(replica)
    m.merge(state)
    return m
  }

  /**
   * Adds `amount` (positive safe integer, default 1) to counter `name` and
   * returns its new value. Throws TALLY_NAME_INVALID, TALLY_AMOUNT_INVALID, or
   * TALLY_OVERFLOW when the counter's increment total would pass 2^53−1;
   * nothing changes when it throws.
   */
  increment(name: string, amount = 1): number {
    this.#local(name, amount, 'p')
    return this.value(name)
  }

  /** Subtracts `amount` from counter `name`; as {@link increment} otherwise (the decrement total is bounded the same way). */
  decrement(name: string, amount = 1): number {
    this.#local(name, amount, 'n')
    return this.value(name)
  }

  #local(name: string, amount: number, field: 'p' | 'n'): void {
    assertName(name)
    assertAmount(amount)
    const byReplica = this.#counters.get(name)
    let total = 0
    if (byReplica) for (const e of byReplica.values()) total += e[field]
    if (total + amount > Number.MAX_SAFE_INTEGER) {
      throw new TallyError(
        ErrorCodes.OVERFLOW,
        `${field === 'p' ? 'increment' : 'decrement'} by ${amount} would take counter ${describe(name)} past 2^53-1`,
      )
    }
    const own = byReplica?.get(this.replica)
    const seq = ++this.#seq
    const p = (own?.p ?? 0) + (field === 'p' ? amount : 0)
    const n = (own?.n ?? 0) + (field === 'n' ? amount : 0)
    this.#put(name, this.replica, p, n, seq, own)
    this.#vv.set(this.replica, seq)
  }

  /** Value of counter `name` (0 if unknown). Throws TALLY_VALUE_UNSAFE if a total passed 2^53−1 through concurrent merges; use {@link bigValue}. */
  value(name: string): number {
    const byReplica = this.#counters.get(name)
    if (!byReplica) return 0
    let p = 0
    let n = 0
    for (const e of byReplica.values()) {
      p += e.p
      n += e.n
    }
    // Terms are non-negative safe integers: a float sum above 2^53−1 means the exact sum is too.
    if (p > Number.MAX_SAFE_INTEGER || n > Number.MAX_SAFE_INTEGER) {
      throw new TallyError(
        ErrorCodes.VALUE_UNSAFE,
        `counter ${describe(name)} is outside the safe-integer range; use bigValue()`,
      )
    }
    return p - n
  }

  /** Exact value of counter `name` as a bigint (0n if unknown). Never throws. */
  bigValue(name: string): bigint {
    let v = 0n
    for (const e of this.#counters.get(name)?.values() ?? []) v += BigInt(e.p) - BigInt(e.n)
    return v
  }

  /** True when counter `name` has ever been changed anywhere this replica knows of. */
  has(name: string): boolean {
    return this.#counters.has(name)
  }

  /** Names of every known counter, sorted. O(k log k). */
  names(): string[] {
    return [...this.#counters.keys()].sort()
  }

  /** Number of known counters. */
  get size(): number {
    return this.#counters.size
  }

  /** This replica's latest operation number (0 before its first). */
  get seq(): number {
    return this.#seq
  }

  /** One counter's state in PNCounter form, e.g. for `PNCounter.fromState`. */
  counterState(name: string): PNCounterState {
    const out: PNCounterState = { p: {}, n: {} }
    for (const [r, e] of this.#counters.get(name) ?? []) {
      if (e.p > 0) out.p[r] = e.p
      if (e.n > 0) out.n[r] = e.n
    }
    return out
  }

  /**
   * A plain copy of the whole state (or of the named counters only, with an
   * empty version summary, which is still a valid state to merge). O(state).
   */
  state(names?: Iterable<string>): CounterMapState {
    const counters: CounterMapState['counters'] = {}
    const pick = names ? [...names] : [...this.#counters.keys()]
    for (const name of pick) {
      const byReplica = this.#counters.get(name)
      if (!byReplica) continue
      const out: Record<string, [number, number, number]> = {}
      for (const [r, e] of byReplica) out[r] = [e.p, e.n, e.seq]
      counters[name] = out
    }
    return { vv: names ? {} : this.summary(), counters }
  }

  /**
   * Merges an untrusted full state (per-entry max). Validates all of it first:
   * on TALLY_STATE_INVALID nothing changes. Returns true if anything changed.
   */
  merge(state: unknown): boolean {
    return this.#apply(stateToDelta(state))
  }

  /**
   * Order-independent fingerprint of the entries, `"<entries>:<16 hex>"`:
   * equal iff the states hold the same entries (up to a 2^-64 collision).
   * O(1): maintained incrementally, never a walk of the map.
   */
  digest(): string {
    return formatDigest(this.#entryCount, { h1: this.#h1, h2: this.#h2 })
  }

  /** The version summary: per replica, the seq up to which every change is here. O(replicas). */
  summary(): Summary {
    const out: Summary = {}
    for (const [r, s] of this.#vv) out[r] = s
    return out
  }

  /**
   * Everything this replica holds that a holder of `summary` may lack: for
   * each replica r, the entries changed after `summary[r]`, plus the ranges
   * that makes complete. Cost O(replicas + log n + size of the answer).
   * Throws TALLY_DELTA_INVALID for a malformed summary.
   */
  deltaSince(summary: unknown): Delta {
    const s = readSummary(summary)
    const out: Delta = { ranges: [], entries: [] }
    const seen = new Set<string>()
    for (const r of this.#logs.keys()) {
      seen.add(r)
      this.#collect(r, s.get(r) ?? 0, out)
    }
    for (const r of this.#vv.keys()) if (!seen.has(r)) this.#collect(r, s.get(r) ?? 0, out)
    return out
  }

  /** Replica `replica`'s entries changed after seq `after`, with the covering range. Used for eager push of local changes. */
  deltaFor(replica: string, after: number): Delta {
    const out: Delta = { ranges: [], entries: [] }
    this.#collect(replica, after, out)
    return out
  }

  #collect(r: string, after: number, out: Delta): void {
    const log = this.#logs.get(r)
    if (log && log.maxSeq > after) {
      log.forEachAfter(
        after,
        (name, seq) => this.#counters.get(name)?.get(r)?.seq === seq,
        (name) => {
          const e = this.#counters.get(name)?.get(r) as Entry
          out.entries.push([name, r, e.p, e.n, e.seq])
        },
      )
    }
    const to = this.#vv.get(r) ?? 0
    if (to > after) out.ranges.push([r, after, to])
  }

  /**
   * Merges an untrusted delta (from `deltaSince`, `deltaFor`, or relayed).
   * Idempotent and order-independent. Validates all of it first: on
   * TALLY_DELTA_INVALID nothing changes. Returns true if anything changed
   * (an entry or the version summary).
   */
  applyDelta(delta: unknown): boolean {
    return this.#apply(readDelta(delta))
  }

  #apply(delta: Delta): boolean {
    let changed = false
    for (const [name, r, p, n, seq] of delta.entries) {
      if (p === 0 && n === 0) continue
      const byReplica = this.#counters.get(name)
      const e = byReplica?.get(r)
      if (e && e.p >= p && e.n >= n && e.seq >= seq) continue
      this.#put(name, r, Math.max(p, e?.p ?? 0), Math.max(n, e?.n ?? 0), Math.max(seq, e?.seq ?? 0), e)
      changed = true
    }
    for (const [r, from, to] of delta.ranges) if (this.#advance(r, from, to)) changed = true
    // Never reuse one of our own operation numbers, even if peers know more of us than we do.
    const own = this.#vv.get(this.replica) ?? 0
    if (own > this.#seq) this.#seq = own
    return changed
  }

  #put(name: string, r: string, p: number, n: number, seq: number, old: Entry | undefined): void {
    let byReplica = this.#counters.get(name)
    if (!byReplica) {
      byReplica = new Map()
      this.#counters.set(name, byReplica)
    }
    let e = old
    if (e) {
      this.#h1 = (this.#h1 - e.h1) >>> 0
      this.#h2 = (this.#h2 - e.h2) >>> 0
    } else {
      const b = hashString(`${name}\u0000${r}`)
      e = { p: 0, n: 0, seq: 0, b1: b.h1, b2: b.h2, h1: 0, h2: 0 }
      byReplica.set(r, e)
      this.#entryCount++
    }
    const seqChanged = e.seq !== seq
    e.p = p
    e.n = n
    e.seq = seq
    const h = mixNumber(mixNumber(mixNumber({ h1: e.b1, h2: e.b2 }, p), n), seq)
    e.h1 = h.h1
    e.h2 = h.h2
    this.#h1 = (this.#h1 + h.h1) >>> 0
    this.#h2 = (this.#h2 + h.h2) >>> 0
    if (seqChanged || !old) {
      let log = this.#logs.get(r)
      if (!log) {
        log = new ReplicaLog()
        this.#logs.set(r, log)
      }
      log.add(name, seq, old !== undefined)
    }
    if (r === this.replica && seq > this.#seq) this.#seq = seq
  }

  // Advances the summary for `r` when (from, to] joins what we already have;
  // otherwise parks the range until the gap before it is filled.
  #advance(r: string, from: number, to: number): boolean {
    let cur = this.#vv.get(r) ?? 0
    if (to <= cur) return false
    if (from > cur) {
      const pending = this.#pending.get(r) ?? []
      pending.push([from, to])
      pending.sort((a, b) => a[0] - b[0])
      if (pending.length > MAX_PENDING_RANGES) pending.pop()
      this.#pending.set(r, pending)
      return false
    }
    cur = to
    const pending = this.#pending.get(r)
    if (pending) {
      const rest: Array<[number, number]> = []
      for (const [f, t] of pending) {
        if (t <= cur) continue
        if (f <= cur) cur = t
        else rest.push([f, t])
      }
      if (rest.length > 0) this.#pending.set(r, rest)
      else this.#pending.delete(r)
    }
    this.#vv.set(r, cur)
    return true
  }

  /** Ids of every replica with an entry or a summary here, sorted. */
  replicas(): string[] {
    return [...new Set([...this.#logs.keys(), ...this.#vv.keys()])].sort()
  }
}

export type { CounterMapState, Delta, EntryTuple, RangeTuple, Summary }
