import { bigTotals, checkLocal, type Entry, entriesValue } from './counter-entry.js'
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
import { VersionVector } from './version-vector.js'

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
  readonly #vv = new VersionVector()
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
   * returns its new value. Throws TALLY_NAME_INVALID, TALLY_AMOUNT_INVALID,
   * TALLY_OVERFLOW when the counter's increment total (over all replicas)
   * would pass 2^53−1, or TALLY_VALUE_UNSAFE when the resulting value would
   * not be a safe integer (possible only after merges took the decrement
   * total past 2^53−1); also TALLY_OVERFLOW if this replica's operation
   * numbers are exhausted (2^53−1 of them). Nothing changes when it throws.
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
    checkLocal(byReplica, field, amount, name)
    // Operation numbers must stay exact: a peer claiming seq 2^53−1 of ours
    // (bug or malice) must not make the next one collide with it.
    if (this.#seq >= Number.MAX_SAFE_INTEGER) {
      throw new TallyError(
        ErrorCodes.OVERFLOW,
        'this replica has used every operation number; start a new replica id',
      )
    }
    const own = byReplica?.get(this.replica)
    const seq = ++this.#seq
    const p = (own?.p ?? 0) + (field === 'p' ? amount : 0)
    const n = (own?.n ?? 0) + (field === 'n' ? amount : 0)
    this.#put(name, this.replica, p, n, seq, own)
    // (seq−1, seq] is complete: it is this very operation. If our summary of
    // ourselves lags (state rebuilt from peers with a gap), the range parks.
    this.#vv.advance(this.replica, seq - 1, seq)
  }

  /**
   * Exact value Σp − Σn of counter `name` (0 if unknown). O(replicas).
   * Throws TALLY_VALUE_UNSAFE when that exact value is outside ±(2^53−1),
   * possible only when merges of concurrent updates took a total past
   * 2^53−1; read it with {@link bigValue}.
   */
  value(name: string): number {
    return entriesValue(this.#counters.get(name), name)
  }

  /** Exact value of counter `name` as a bigint (0n if unknown). Never throws. O(replicas). */
  bigValue(name: string): bigint {
    const [p, n] = bigTotals(this.#counters.get(name))
    return p - n
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
   * Throws TypeError if `names` is a string (a string is iterable by character).
   */
  state(names?: Iterable<string>): CounterMapState {
    if (typeof names === 'string')
      throw new TypeError('state(names) takes an iterable of names, not a string')
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
   * Order-independent fingerprint of the state, `"<entries>:<16 hex>"`: equal
   * iff the states are equal, i.e. the same entries (p, n, seq) and the same
   * version summary (up to a 2^-64 collision). Zero entries do not exist.
   * O(1): maintained incrementally, never a walk of the map.
   *
   * The summary is included on purpose: two replicas can hold the same
   * entries while one's summary lags (the message carrying a range was lost
   * but a later update superseded its entry). Were the digest blind to that,
   * anti-entropy would stop at "equal" and the lagging summary would make
   * every later `deltaSince` for that replica re-send old entries forever.
   */
  digest(): string {
    const vv = this.#vv.hash()
    return formatDigest(this.#entryCount, { h1: (this.#h1 + vv.h1) >>> 0, h2: (this.#h2 + vv.h2) >>> 0 })
  }

  /** The version summary: per replica, the seq up to which every change is here. O(replicas). */
  summary(): Summary {
    return this.#vv.toObject()
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

  /**
   * Replica `replica`'s entries changed after seq `after`, with the covering
   * range: the eager push of local changes is `deltaFor(self, seqBefore)`.
   * O(log n + answer). Throws RangeError unless `after` is a non-negative safe integer.
   */
  deltaFor(replica: string, after: number): Delta {
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new RangeError(`deltaFor: after must be a non-negative safe integer, got ${describe(after)}`)
    }
    const out: Delta = { ranges: [], entries: [] }
    this.#collect(replica, after, out)
    return out
  }

  #collect(r: string, after: number, out: Delta): void {
    const log = this.#logs.get(r)
    if (log && log.maxSeq > after) {
      log.forEachAfter(after, (name) => {
        const e = this.#counters.get(name)?.get(r) as Entry
        out.entries.push([name, r, e.p, e.n, e.seq])
      })
    }
    const to = this.#vv.get(r)
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
    for (const [r, from, to] of delta.ranges) if (this.#vv.advance(r, from, to)) changed = true
    // Never reuse one of our own operation numbers, even if peers know more of us than we do.
    const own = this.#vv.get(this.replica)
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
        log = new ReplicaLog((name, s) => this.#counters.get(name)?.get(r)?.seq === s)
        this.#logs.set(r, log)
      }
      log.add(name, seq, old !== undefined)
    }
    if (r === this.replica && seq > this.#seq) this.#seq = seq
  }

  /** Ids of every replica with an entry or a summary here, sorted. */
  replicas(): string[] {
    return [...new Set([...this.#logs.keys(), ...this.#vv.keys()])].sort()
  }
}

export type { CounterMapState, Delta, EntryTuple, RangeTuple, Summary }
