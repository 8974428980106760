// Past the ~400-line guide on purpose: every public operation of CounterMap
// keeps the entry pages, the per-replica change logs, the version summary and
// the O(1) digest consistent through private state, so the class stays whole.
// Its pure parts already live beside it: entry-table.ts (typed-array pages),
// replica-log.ts, state-columns.ts, hash.ts, delta.ts, validate.ts.

import { bigTotals, checkLocal, entriesValue } from './counter-entry.js'
import type { CounterFold } from './counter-fold.js'
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
import { END, EntryTable } from './entry-table.js'
import { ErrorCodes, TallyError } from './errors.js'
import { formatDigest, type Hash64, hashBytesPairInto, mixInto } from './hash.js'
import { hashNameBytes } from './name-index.js'
import { type PackedColumns, readPacked } from './packed-columns.js'
import type { PNCounterState } from './pncounter.js'
import { ReplicaLog } from './replica-log.js'
import { ROW, readColumns, type StateColumns } from './state-columns.js'
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
 *
 * Memory: names are held once each, as bytes (name-arena.ts), replica ids
 * once each; entries are rows of typed arrays (see entry-table.ts), 17
 * bytes an entry plus 8 bytes in its replica's change log (more only once a
 * value passes 2^32−1 or a map knows over 256 replicas), so a replica
 * costs memory only in counters it wrote. Strings and objects are made only
 * at the API edge.
 */
export class CounterMap {
  /** This replica's id; local operations go to its entries. */
  readonly replica: string
  // Replaced only by adopt(), before the map is handed out.
  #t = new EntryTable()
  #vv = new VersionVector()
  // Change log of each replica, by replica number.
  readonly #logs: Array<ReplicaLog | undefined> = []
  #h1 = 0
  #h2 = 0
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
   * Makes `fold` a map of replica `replica` without copying its entries (the
   * fold is spent): the same map as merging every entry and range folded
   * into an empty one. The digest, change logs and version summary are
   * computed as the adoption is stepped, `maxEntries` entries a
   * `step(maxEntries)`, which returns true once done (a caller that must
   * not block long gives its event loop a turn between steps); `map` is the
   * map then (it throws Error before). Throws TALLY_REPLICA_INVALID for a
   * bad id, Error for a fold already adopted.
   */
  static adopt(replica: string, fold: CounterFold): FoldAdoption {
    const m = new CounterMap(replica)
    const { table, vv, pending, maxSeq } = fold.take()
    m.#t = table
    const own = table.replica(replica)
    // Never reuse an operation number of ours, even one whose entry was dropped since.
    if (own !== undefined) m.#seq = maxSeq[own] as number
    let c = 0
    let done = false
    const finish = (): void => {
      for (const [r, s] of vv) m.#vv.advance(r, 0, s)
      // Parked ranges park again (a gap before each), as they were in the fold.
      for (const [r, ranges] of pending) for (const [from, to] of ranges) m.#vv.advance(r, from, to)
      m.#afterMerge(false)
      done = true
    }
    return {
      step(maxEntries: number): boolean {
        if (!(maxEntries >= 1)) throw new RangeError('adopt: step(maxEntries) needs maxEntries >= 1')
        if (done) return true
        c = m.#account(c, maxEntries)
        if (c >= m.#t.counters) finish()
        return done
      },
      get map(): CounterMap {
        if (!done) throw new Error('adopt: step() until it returns true before taking the map')
        return m
      },
    }
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
    const t = this.#t
    const known = t.counter(name)
    checkLocal(t, known, field, amount, name)
    // Operation numbers must stay exact: a peer claiming seq 2^53−1 of ours
    // (bug or malice) must not make the next one collide with it.
    if (this.#seq >= Number.MAX_SAFE_INTEGER) {
      throw new TallyError(
        ErrorCodes.OVERFLOW,
        'this replica has used every operation number; start a new replica id',
      )
    }
    const r = t.replicaFor(this.replica)
    const c = known ?? t.addCounter(name)
    const own = known === undefined ? END : t.find(c, r)
    const seq = ++this.#seq
    const p = (own === END ? 0 : t.p(own)) + (field === 'p' ? amount : 0)
    const n = (own === END ? 0 : t.n(own)) + (field === 'n' ? amount : 0)
    this.#put(c, r, p, n, seq, own)
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
    return entriesValue(this.#t, this.#t.counter(name), name)
  }

  /** Exact value of counter `name` as a bigint (0n if unknown). Never throws. O(replicas). */
  bigValue(name: string): bigint {
    const [p, n] = bigTotals(this.#t, this.#t.counter(name))
    return p - n
  }

  /** True when counter `name` has ever been changed anywhere this replica knows of. */
  has(name: string): boolean {
    return this.#t.counter(name) !== undefined
  }

  /** Names of every known counter, sorted. O(k log k). */
  names(): string[] {
    const t = this.#t
    const out: string[] = []
    for (let c = 0; c < t.counters; c++) if (t.live(c)) out.push(t.name(c))
    return out.sort()
  }

  /** Number of known counters. */
  get size(): number {
    return this.#t.liveCounters
  }

  /**
   * Makes room for about `counters` counters in all (its name index sized
   * for them), so that a bulk load that knows its size (a restart from a
   * snapshot) does not re-place names as the index grows. A hint: the map
   * holds any number either way, and nothing shrinks. At most 2^22 (4 194 304) are
   * reserved (beyond, the index grows as usual). Throws RangeError unless
   * `counters` is a non-negative safe integer. O(reserved).
   */
  reserve(counters: number): void {
    if (!Number.isSafeInteger(counters) || counters < 0)
      throw new RangeError(`reserve: expected a count of counters, got ${describe(counters)}`)
    this.#t.reserve(Math.min(counters, MAX_RESERVE))
  }

  /**
   * Counter numbers handed out: every counter's number is below it. The end
   * for {@link stateSlice} and {@link stateColumns} (it equals `size` until a
   * counter is dropped; numbers of dropped counters are given to new ones).
   */
  get counterNumbers(): number {
    return this.#t.counters
  }

  /**
   * Forgets counter `name` and every entry of it (garbage collection of a
   * deleted counter: the caller has checked, by the rule of docs/crdt.md
   * "Garbage collection", that no state it will merge later brings the old
   * totals back uncovered). Afterwards the map is as if the counter had never
   * been written: `has` is false, the digest and `size` leave it out, and a
   * later write or merge starts it afresh. The version summary is unchanged
   * (the operations are still known, only dropped). Returns true if it was
   * held. Throws TALLY_NAME_INVALID for a bad name. O(replicas of the counter).
   */
  drop(name: string): boolean {
    assertName(name)
    const t = this.#t
    const c = t.counter(name)
    if (c === undefined) return false
    const h = SCRATCH
    for (let e = t.head(c); e !== END; e = t.next(e)) {
      const r = t.rep(e)
      hashBytesPairInto(
        t.names.pageOf(c),
        t.names.offsetOf(c),
        t.names.lengthOf(c),
        t.replicaIds[r] as string,
        BASE,
      )
      entryHash(t.p(e), t.n(e), t.seq(e))
      this.#h1 = (this.#h1 - h.h1) >>> 0
      this.#h2 = (this.#h2 - h.h2) >>> 0
      this.#logs[r]?.forget()
    }
    t.dropCounter(c)
    return true
  }

  /** This replica's latest operation number (0 before its first). */
  get seq(): number {
    return this.#seq
  }

  /** One counter's state in PNCounter form, e.g. for `PNCounter.fromState`. */
  counterState(name: string): PNCounterState {
    const out: PNCounterState = { p: {}, n: {} }
    const t = this.#t
    const c = t.counter(name)
    if (c === undefined) return out
    for (let e = t.head(c); e !== END; e = t.next(e)) {
      const r = t.replicaIds[t.rep(e)] as string
      if (t.p(e) > 0) out.p[r] = t.p(e)
      if (t.n(e) > 0) out.n[r] = t.n(e)
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
    const t = this.#t
    if (names) {
      for (const name of names) {
        const c = t.counter(name)
        if (c !== undefined) counters[name] = this.#entriesOf(c)
      }
      return { vv: {}, counters }
    }
    const vv = this.summary()
    for (let c = 0; c < t.counters; c++) if (t.live(c)) counters[t.name(c)] = this.#entriesOf(c)
    return { vv, counters }
  }

  /**
   * A slice of the counters for encoding a large state a piece at a time:
   * counters are numbered 0, 1, … as created (a dropped counter's number is
   * given to a later one), and this returns those from number `from` on,
   * stopping once the slice holds at least `maxEntries` entries (always at
   * least one counter when any is left), with `next`, the number to continue
   * from (`next === counterNumbers`: done). O(answer).
   *
   * Slices taken after a call to {@link summary}, at any later times, form
   * together with that summary a valid state (a state may hold entries newer
   * than its summary): entries only grow, so a slice read later only holds
   * more. Counters created in between may be missed (those given a number
   * below `from`), and so may counters dropped in between: both are newer
   * than the summary.
   * Throws RangeError unless `from` is a non-negative integer and `maxEntries` ≥ 1.
   */
  stateSlice(from: number, maxEntries: number): { counters: CounterMapState['counters']; next: number } {
    if (!Number.isSafeInteger(from) || from < 0)
      throw new RangeError(`stateSlice: bad from ${describe(from)}`)
    if (!(maxEntries >= 1)) throw new RangeError(`stateSlice: maxEntries must be >= 1`)
    const t = this.#t
    const counters: CounterMapState['counters'] = {}
    let taken = 0
    let c = from
    for (; c < t.counters && taken < maxEntries; c++) {
      if (!t.live(c)) continue
      const out: Record<string, [number, number, number]> = {}
      for (let e = t.head(c); e !== END; e = t.next(e)) {
        out[t.replicaIds[t.rep(e)] as string] = [t.p(e), t.n(e), t.seq(e)]
        taken++
      }
      counters[t.name(c)] = out
    }
    return { counters, next: c }
  }

  #entriesOf(c: number): Record<string, [number, number, number]> {
    const t = this.#t
    const out: Record<string, [number, number, number]> = {}
    for (let e = t.head(c); e !== END; e = t.next(e)) {
      out[t.replicaIds[t.rep(e)] as string] = [t.p(e), t.n(e), t.seq(e)]
    }
    return out
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
    return formatDigest(this.#t.entries, { h1: (this.#h1 + vv.h1) >>> 0, h2: (this.#h2 + vv.h2) >>> 0 })
  }

  /** The version summary: per replica, the seq up to which every change is here. O(replicas). */
  summary(): Summary {
    return this.#vv.toObject()
  }

  /**
   * Everything this replica holds that a holder of `summary` may lack: for
   * each replica r, the entries changed after `summary[r]`, plus the ranges
   * that makes complete. Cost O(replicas + log n + size of the answer).
   *
   * With `maxEntries`, the answer is a bounded slice: replicas in a fixed
   * order, each one's entries in seq order, stopping once `maxEntries`
   * entries are in; the replica cut short gets the range up to its last
   * entry sent, later replicas nothing. The slice claims only what it
   * carries, so a holder that applies it and asks again with its new
   * summary gets the next slice, and the slices together equal the whole
   * answer. Throws TALLY_DELTA_INVALID for a malformed summary, RangeError
   * unless `maxEntries` ≥ 1.
   */
  deltaSince(summary: unknown, maxEntries = Number.POSITIVE_INFINITY): Delta {
    if (!(maxEntries >= 1))
      throw new RangeError(`deltaSince: maxEntries must be >= 1, got ${describe(maxEntries)}`)
    const s = readSummary(summary)
    const out: Delta = { ranges: [], entries: [] }
    const seen = new Set<string>()
    const ids = this.#t.replicaIds
    for (let r = 0; r < ids.length; r++) {
      if (!this.#logs[r]) continue
      const id = ids[r] as string
      seen.add(id)
      if (!this.#collect(id, s.get(id) ?? 0, out, maxEntries)) return out
    }
    for (const id of this.#vv.keys()) if (!seen.has(id)) this.#collect(id, s.get(id) ?? 0, out, maxEntries)
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
    this.#collect(replica, after, out, Number.POSITIVE_INFINITY)
    return out
  }

  // Appends replica `id`'s entries after `after` (while `out` holds fewer than
  // `max`) and the range they make complete. False when cut short at `max`.
  #collect(id: string, after: number, out: Delta, max: number): boolean {
    const t = this.#t
    const r = t.replica(id)
    const log = r === undefined ? undefined : this.#logs[r]
    let to = this.#vv.get(id)
    let full = true
    if (r !== undefined && log && log.maxSeq > after) {
      let last = after
      log.forEachAfter(after, (c) => {
        if (out.entries.length >= max) {
          full = false
          return false
        }
        const e = t.find(c, r)
        last = t.seq(e)
        out.entries.push([t.name(c), id, t.p(e), t.n(e), last])
        return true
      })
      // Cut short: the range vouches only up to the last entry sent (seqs are unique per replica).
      if (!full) to = Math.min(to, last)
    }
    if (to > after) out.ranges.push([id, after, to])
    return full
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
    for (const [name, id, p, n, seq] of delta.entries) {
      if (this.#mergeEntry(this.#t.counter(name), this.#t.replica(id), name, id, p, n, seq) !== END)
        changed = true
    }
    for (const [r, from, to] of delta.ranges) if (this.#vv.advance(r, from, to)) changed = true
    return this.#afterMerge(changed)
  }

  // Never reuse one of our own operation numbers, even if peers know more of us than we do.
  #afterMerge(changed: boolean): boolean {
    const own = this.#vv.get(this.replica)
    if (own > this.#seq) this.#seq = own
    return changed
  }

  // Per-field max of one (checked) entry into counter c / replica r (numbers when known).
  // Returns the counter number when anything changed, else END.
  #mergeEntry(
    known: number | undefined,
    knownReplica: number | undefined,
    name: string,
    id: string,
    p: number,
    n: number,
    seq: number,
  ): number {
    if (p === 0 && n === 0) return END
    const t = this.#t
    const e = known === undefined || knownReplica === undefined ? END : t.find(known, knownReplica)
    if (e !== END) {
      const ep = t.p(e)
      const en = t.n(e)
      const es = t.seq(e)
      if (ep >= p && en >= n && es >= seq) return END
      this.#put(
        known as number,
        knownReplica as number,
        Math.max(p, ep),
        Math.max(n, en),
        Math.max(seq, es),
        e,
      )
      return known as number
    }
    const c = known ?? t.addCounter(name)
    this.#put(c, knownReplica ?? t.replicaFor(id), p, n, seq, END)
    return c
  }

  /**
   * A slice of the counters in columnar form ({@link StateColumns}): as
   * {@link stateSlice} (counters from number `from` on in creation order, at
   * least one, stopping at about `maxEntries` entries; `next` continues), but
   * with no object per counter or entry: what a snapshot writes. O(answer).
   * Throws RangeError unless `from` is a non-negative integer and `maxEntries` ≥ 1.
   */
  stateColumns(from: number, maxEntries: number): { columns: StateColumns; next: number } {
    if (!Number.isSafeInteger(from) || from < 0)
      throw new RangeError(`stateColumns: bad from ${describe(from)}`)
    if (!(maxEntries >= 1)) throw new RangeError(`stateColumns: maxEntries must be >= 1`)
    const t = this.#t
    const names: string[] = []
    const replicas: string[] = []
    const local = new Map<number, number>()
    const rows: number[] = []
    let c = from
    for (; c < t.counters && rows.length < maxEntries * ROW; c++) {
      if (!t.live(c)) continue
      const ci = names.push(t.name(c)) - 1
      for (let e = t.head(c); e !== END; e = t.next(e)) {
        const r = t.rep(e)
        let ri = local.get(r)
        if (ri === undefined) {
          ri = replicas.push(t.replicaIds[r] as string) - 1
          local.set(r, ri)
        }
        rows.push(ci, ri, t.p(e), t.n(e), t.seq(e))
      }
    }
    return { columns: { names, replicas, rows }, next: c }
  }

  /**
   * Merges untrusted state columns (per-entry max, as {@link merge} of the
   * same entries with an empty summary): the bulk load of a snapshot slice.
   * Validates all of it first: on TALLY_STATE_INVALID nothing changes.
   * Returns true if anything changed. O(entries).
   */
  mergeColumns(columns: unknown): boolean {
    const { names, replicas, rows } = readColumns(columns)
    const t = this.#t
    // Counter and replica numbers by column index, looked up at their first
    // row: a new counter is then added right after its lookup missed, which
    // hashes its name once (see NameIndex).
    const cs: Array<number | undefined> = new Array(names.length)
    const rs: Array<number | undefined> = replicas.map((id) => t.replica(id))
    let changed = false
    for (let i = 0; i < rows.length; i += ROW) {
      const ci = rows[i] as number
      const ri = rows[i + 1] as number
      const name = names[ci] as string
      const id = replicas[ri] as string
      // A name or id listed twice in the columns: the second index finds what the first created.
      const c = this.#mergeEntry(
        cs[ci] ?? t.counter(name),
        rs[ri] ?? t.replica(id),
        name,
        id,
        rows[i + 2] as number,
        rows[i + 3] as number,
        rows[i + 4] as number,
      )
      if (c !== END) {
        changed = true
        cs[ci] = c
        rs[ri] ??= t.replica(id)
      }
    }
    return this.#afterMerge(changed)
  }

  /**
   * Merges untrusted packed columns ({@link PackedColumns}; per-entry max,
   * exactly as {@link mergeColumns} of the same entries): the bulk load of a
   * snapshot slice without a string or array per counter. Validates all of it
   * first (`readPacked`): on TALLY_STATE_INVALID nothing changes. Returns true
   * if anything changed. O(entries).
   *
   * With `hashSum` (trusted: see {@link PackedColumns}), an entry new to the
   * map is added without hashing it for the digest (the sum stands for it;
   * an entry that meets one already held is merged as without the sum, its
   * hash taken out of the sum): a restart's bulk load skips a hash an entry.
   * The state and the digest are the same either way for a correct sum.
   */
  mergePacked(columns: unknown): boolean {
    const { nameBytes, nameLengths, entryCounts, replicas, entryReplicas, values, hashSum } =
      readPacked(columns)
    const t = this.#t
    // Replica numbers by column index, made at the first entry put (as mergeColumns does).
    const rs: Array<number | undefined> = new Array(replicas.length)
    const own = replicas.map((id) => id === this.replica)
    const trusted = hashSum !== undefined
    // What the sum stands for: the entries added without a hash.
    let s1 = hashSum?.h1 ?? 0
    let s2 = hashSum?.h2 ?? 0
    let changed = false
    let at = 0
    let e = 0
    for (let i = 0; i < nameLengths.length; i++) {
      const len = nameLengths[i] as number
      const end = e + (entryCounts[i] as number)
      const h = hashNameBytes(nameBytes, at, len)
      let c = t.counterOfBytes(nameBytes, at, len, h)
      for (; e < end; e++) {
        const p = values[e * 3] as number
        const n = values[e * 3 + 1] as number
        const seq = values[e * 3 + 2] as number
        if (p === 0 && n === 0) continue
        const ri = entryReplicas[e] as number
        let r = rs[ri]
        if (r === undefined) {
          r = t.replicaFor(replicas[ri] as string)
          rs[ri] = r
        }
        if (c === undefined) c = t.addCounterBytes(nameBytes, at, len, h)
        const old = t.find(c, r)
        if (old === END && trusted) {
          changed = true
          this.#addUnhashed(c, r, p, n, seq, own[ri] === true)
          continue
        }
        if (trusted) {
          // Merged the usual way below (which hashes it): its share of the sum is not ours to add.
          hashBytesPairInto(nameBytes, at, len, replicas[ri] as string, BASE)
          entryHash(p, n, seq)
          s1 = (s1 - SCRATCH.h1) >>> 0
          s2 = (s2 - SCRATCH.h2) >>> 0
        }
        if (old === END) {
          this.#put(c, r, p, n, seq, END)
          changed = true
          continue
        }
        const op = t.p(old)
        const on = t.n(old)
        const os = t.seq(old)
        if (op >= p && on >= n && os >= seq) continue
        this.#put(c, r, Math.max(p, op), Math.max(n, on), Math.max(seq, os), old)
        changed = true
      }
      at += len
    }
    this.#h1 = (this.#h1 + s1) >>> 0
    this.#h2 = (this.#h2 + s2) >>> 0
    return this.#afterMerge(changed)
  }

  // Adoption (see adopt): adds the digest hashes and change-log records of the
  // entries of counters from number `from` on, stopping once about `max` are
  // done; returns the number to go on from. A method of its own, not a closure:
  // a closure made per adoption would start without type feedback each time.
  #account(from: number, max: number): number {
    const t = this.#t
    let k = 0
    let c = from
    for (; c < t.counters && k < max; c++) {
      if (!t.live(c)) continue
      const page = t.names.pageOf(c)
      const o = t.names.offsetOf(c)
      const len = t.names.lengthOf(c)
      for (let e = t.head(c); e !== END; e = t.next(e)) {
        const r = t.rep(e)
        const seq = t.seq(e)
        hashBytesPairInto(page, o, len, t.replicaIds[r] as string, BASE)
        entryHash(t.p(e), t.n(e), seq)
        this.#h1 = (this.#h1 + SCRATCH.h1) >>> 0
        this.#h2 = (this.#h2 + SCRATCH.h2) >>> 0
        this.#logChange(c, r, seq, false)
        k++
      }
    }
    return c
  }

  // A new entry of replica r in counter c, its digest hash accounted for by the caller.
  #addUnhashed(c: number, r: number, p: number, n: number, seq: number, own: boolean): void {
    const t = this.#t
    t.set(t.add(c, r), p, n, seq)
    this.#logChange(c, r, seq, false)
    if (own && seq > this.#seq) this.#seq = seq
  }

  /**
   * A slice of the counters as {@link PackedColumns}: the counters of
   * {@link stateColumns}`(from, maxEntries)` with the same entries, read
   * from the name bytes and entry pages without making a string per counter,
   * and their digest contribution (`hashSum`: one hash an entry).
   * O(answer). Throws RangeError unless `from` is a non-negative integer and
   * `maxEntries` ≥ 1.
   */
  packedColumns(from: number, maxEntries: number): { columns: PackedColumns; next: number } {
    if (!Number.isSafeInteger(from) || from < 0)
      throw new RangeError(`packedColumns: bad from ${describe(from)}`)
    if (!(maxEntries >= 1)) throw new RangeError(`packedColumns: maxEntries must be >= 1`)
    const t = this.#t
    // First pass: how many counters, entries and name bytes.
    let c = from
    let entries = 0
    let bytes = 0
    let counters = 0
    for (; c < t.counters && entries < maxEntries; c++) {
      if (!t.live(c)) continue // dropped: its name bytes may be gone
      counters++
      bytes += t.names.lengthOf(c)
      for (let e = t.head(c); e !== END; e = t.next(e)) entries++
    }
    const end = c
    const nameBytes = new Uint8Array(bytes)
    const nameLengths = new Uint8Array(counters)
    const entryCounts = new Uint32Array(counters)
    const entryReplicas = new Uint32Array(entries)
    const values = new Float64Array(entries * 3)
    const replicas: string[] = []
    const local = new Map<number, number>()
    // The digest contribution of the slice (see PackedColumns.hashSum).
    const sum: Hash64 = { h1: 0, h2: 0 }
    let at = 0
    let k = 0
    let i = 0
    for (let x = from; x < end; x++) {
      if (!t.live(x)) continue
      const len = t.names.lengthOf(x)
      const o = t.names.offsetOf(x)
      const page = t.names.pageOf(x)
      nameBytes.set(page.subarray(o, o + len), at)
      nameLengths[i] = len
      at += len
      let count = 0
      for (let e = t.head(x); e !== END; e = t.next(e)) {
        const r = t.rep(e)
        let ri = local.get(r)
        if (ri === undefined) {
          ri = replicas.push(t.replicaIds[r] as string) - 1
          local.set(r, ri)
        }
        entryReplicas[k] = ri
        values[k * 3] = t.p(e)
        values[k * 3 + 1] = t.n(e)
        values[k * 3 + 2] = t.seq(e)
        // A held entry is never zero (zero entries do not exist): each counts in the digest.
        hashBytesPairInto(page, o, len, t.replicaIds[r] as string, BASE)
        entryHash(t.p(e), t.n(e), t.seq(e))
        sum.h1 = (sum.h1 + SCRATCH.h1) >>> 0
        sum.h2 = (sum.h2 + SCRATCH.h2) >>> 0
        k++
        count++
      }
      entryCounts[i] = count
      i++
    }
    return {
      columns: { nameBytes, nameLengths, entryCounts, replicas, entryReplicas, values, hashSum: sum },
      next: c,
    }
  }

  // Sets entry `old` (or a new entry of replica r in counter c, when old is END) to (p, n, seq).
  #put(c: number, r: number, p: number, n: number, seq: number, old: number): void {
    const t = this.#t
    const id = t.replicaIds[r] as string
    // An entry's digest contribution: hash of (name, replica) mixed with p, n and seq.
    const h = SCRATCH
    hashBytesPairInto(t.names.pageOf(c), t.names.offsetOf(c), t.names.lengthOf(c), id, BASE)
    let e = old
    if (e !== END) {
      entryHash(t.p(e), t.n(e), t.seq(e))
      this.#h1 = (this.#h1 - h.h1) >>> 0
      this.#h2 = (this.#h2 - h.h2) >>> 0
    } else e = t.add(c, r)
    const seqChanged = t.seq(e) !== seq
    t.set(e, p, n, seq)
    entryHash(p, n, seq)
    this.#h1 = (this.#h1 + h.h1) >>> 0
    this.#h2 = (this.#h2 + h.h2) >>> 0
    if (seqChanged || old === END) this.#logChange(c, r, seq, old !== END)
    if (id === this.replica && seq > this.#seq) this.#seq = seq
  }

  // Records in replica r's change log that counter c's entry of r now has `seq`.
  #logChange(c: number, r: number, seq: number, replaced: boolean): void {
    let log = this.#logs[r]
    if (!log) {
      const t = this.#t
      // The log holds counter numbers; a record is current while the entry still has its seq.
      // A record of a dropped counter (or of a number since given to another) is stale.
      log = new ReplicaLog((k, s) => {
        const x = t.find(k, r)
        return x !== END && t.seq(x) === s
      })
      this.#logs[r] = log
    }
    log.add(c, seq, replaced)
  }

  /**
   * Puts the per-replica change logs in seq order, about `maxWork` records'
   * worth of sorting a call (at least one piece); true once all are. A bulk
   * load (a restart's, a merged state) leaves them out of order, and the
   * first `deltaSince` or `deltaFor` that reads one sorts it at once (a
   * million records: about 100 ms); a daemon calls this between turns of
   * its event loop instead. Changes no state.
   */
  prepareLogs(maxWork: number): boolean {
    for (const log of this.#logs) if (log && !log.sortStep(maxWork)) return false
    return true
  }

  /** True when every change log is in seq order (no read has to sort one first). O(replicas). */
  get logsInOrder(): boolean {
    return this.#logs.every((log) => log === undefined || log.sorted)
  }

  /** Ids of every replica with an entry or a summary here, sorted. */
  replicas(): string[] {
    const ids = this.#t.replicaIds.filter((_, r) => this.#logs[r] !== undefined)
    return [...new Set([...ids, ...this.#vv.keys()])].sort()
  }
}

/** Most counters {@link CounterMap.reserve} makes room for (the hint of a file could say anything). */
const MAX_RESERVE = 1 << 22

// Scratch hashes of #put (no allocation per change): BASE = hash of (name,
// replica); SCRATCH = BASE mixed with an entry's p, n and seq.
const BASE: Hash64 = { h1: 0, h2: 0 }
const SCRATCH: Hash64 = { h1: 0, h2: 0 }

// An entry's digest contribution, into SCRATCH: hash of (name, replica) mixed with p, n and seq.
function entryHash(p: number, n: number, seq: number): void {
  SCRATCH.h1 = BASE.h1
  SCRATCH.h2 = BASE.h2
  mixInto(SCRATCH, p)
  mixInto(SCRATCH, n)
  mixInto(SCRATCH, seq)
}

/** A fold being made a map ({@link CounterMap.adopt}). */
export interface FoldAdoption {
  /** Accounts for up to `maxEntries` more entries; true once the map is complete. Throws RangeError unless `maxEntries` ≥ 1. */
  step(maxEntries: number): boolean
  /** The map, once `step` returned true (throws Error before). */
  readonly map: CounterMap
}

export type { CounterMapState, Delta, EntryTuple, RangeTuple, StateColumns, Summary }
