// The bulk load of a recovery: a million logged operations folded into the
// storage a CounterMap keeps (entry-table.ts), which the map then takes over
// as it is (CounterMap.adopt). What a live map keeps up on every change (the
// digest, the per-replica change logs, the version summary's hash) is
// computed once, at adoption, one entry at a time.

import type { CounterMapState, Summary } from './delta.js'
import { END, EntryTable } from './entry-table.js'
import { ErrorCodes, TallyError } from './errors.js'
import { hashNameBytes } from './name-index.js'
import { describe, isCount, isValidName, isValidReplicaId, MAX_NAME_LENGTH } from './validate.js'
import { advanceSummary } from './version-vector.js'

/** What a fold hands over to {@link CounterMap.adopt}: its table and its version summary. */
export interface FoldContents {
  table: EntryTable
  vv: Map<string, number>
  pending: Map<string, Array<[number, number]>>
  /** Per replica number, the largest seq put (dropped entries included: a map never reuses one of its own). */
  maxSeq: number[]
}

/**
 * Entries and version ranges folded into one state: per entry the
 * field-wise max of what was put (as `CounterMap.merge` does), per replica
 * the summary advanced by contiguous ranges (out-of-order ones parked, as a
 * map parks them). Then `CounterMap.adopt(replica, fold)` makes it a map,
 * without copying the entries: the same map as merging every put entry and
 * advanced range into an empty one.
 *
 * Checks what it is given (names and replica ids when first seen, counts
 * always) and throws TALLY_STATE_INVALID for what a state may not hold; a
 * name or id already folded was checked when first seen. After adoption it
 * is spent: every method throws.
 */
export class CounterFold {
  #t: EntryTable | null = new EntryTable()
  readonly #vv = new Map<string, number>()
  readonly #pending = new Map<string, Array<[number, number]>>()
  readonly #maxSeq: number[] = []
  // The replica last put and its number: a log holds long runs of one.
  #lastId = ''
  #lastR = -1

  /**
   * Folds entry (p, n, seq) of replica `id` into counter `name`: the
   * field-wise max with what is held (a zero entry is skipped, as a map
   * skips it). Throws TALLY_STATE_INVALID for a bad name, id or count (then
   * nothing changed). O(replicas of the counter).
   */
  put(name: string, id: string, p: number, n: number, seq: number): void {
    const t = this.#table()
    checkCounts(p, n, seq)
    if (p === 0 && n === 0) return
    const c = t.counter(name)
    if (c === undefined && !isValidName(name)) throw invalid(`invalid counter name ${describe(name)}`)
    const r = this.#replica(t, id)
    putAt(t, c ?? t.addCounter(name), r, p, n, seq)
    if (seq > (this.#maxSeq[r] as number)) this.#maxSeq[r] = seq
  }

  /**
   * {@link put} of the counter whose name `len` bytes of `bytes` from `at`
   * spell, without a string for it (a name read where it lies in a log
   * record). Throws TALLY_STATE_INVALID as {@link put}, and for bytes that
   * are not a valid name (1–128 bytes of 0x21–0x7E, not `__proto__`).
   */
  putBytes(bytes: Uint8Array, at: number, len: number, id: string, p: number, n: number, seq: number): void {
    const t = this.#table()
    checkCounts(p, n, seq)
    if (p === 0 && n === 0) return
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(len) || at < 0 || at + len > bytes.length)
      throw invalid(`name bytes [${describe(at)}, +${describe(len)}) are outside the buffer`)
    const h = hashNameBytes(bytes, at, len)
    const c = t.counterOfBytes(bytes, at, len, h)
    if (c === undefined && !isNameBytes(bytes, at, len)) throw invalid('invalid counter name bytes')
    const r = this.#replica(t, id)
    putAt(t, c ?? t.addCounterBytes(bytes, at, len, h), r, p, n, seq)
    if (seq > (this.#maxSeq[r] as number)) this.#maxSeq[r] = seq
  }

  /**
   * Records that every change of replica `id` with seq in (from, to] is
   * folded (the summary rule of a map: see `advanceSummary`). Throws
   * TALLY_STATE_INVALID unless 0 ≤ from ≤ to are safe integers and `id` a
   * valid replica id.
   */
  advance(id: string, from: number, to: number): void {
    this.#table()
    if (!isCount(from) || !isCount(to) || from > to)
      throw invalid(`range (${describe(from)}, ${describe(to)}] is not 0 <= from <= to`)
    const cur = this.#vv.get(id)
    // An id already put or advanced was checked then.
    if (cur === undefined && id !== this.#lastId && !isValidReplicaId(id))
      throw invalid(`invalid replica id ${describe(id)}`)
    const next = advanceSummary(cur ?? 0, this.#pending, id, from, to)
    if (next !== undefined) this.#vv.set(id, next)
  }

  /**
   * Forgets counter `name` and every entry of it (a drop logged at this
   * point): entries put later start it afresh. Returns true if it was held. O(replicas of it).
   */
  drop(name: string): boolean {
    const t = this.#table()
    const c = t.counter(name)
    if (c === undefined) return false
    t.dropCounter(c)
    return true
  }

  /** True when counter `name` is held. */
  has(name: string): boolean {
    return this.#table().counter(name) !== undefined
  }

  /** True when replica `id` has an entry or a summary here (so it was checked). */
  knowsReplica(id: string): boolean {
    return this.#table().replica(id) !== undefined || this.#vv.has(id)
  }

  /** Number of counters held. */
  get size(): number {
    return this.#table().liveCounters
  }

  /** The folded version summary (parked ranges left out, as `CounterMap.summary` does). O(replicas). */
  summary(): Summary {
    this.#table()
    return Object.fromEntries(this.#vv)
  }

  /** The folded state, in `CounterMap.state()` form. O(state). */
  state(): CounterMapState {
    const t = this.#table()
    const counters: CounterMapState['counters'] = {}
    for (let c = 0; c < t.counters; c++) {
      if (!t.live(c)) continue
      const out: Record<string, [number, number, number]> = {}
      for (let e = t.head(c); e !== END; e = t.next(e))
        out[t.replicaIds[t.rep(e)] as string] = [t.p(e), t.n(e), t.seq(e)]
      counters[t.names.name(c)] = out
    }
    return { vv: this.summary(), counters }
  }

  /**
   * Hands the contents over (to `CounterMap.adopt`) and spends the fold.
   * Throws Error when it was spent already.
   */
  take(): FoldContents {
    const table = this.#table()
    this.#t = null
    return { table, vv: this.#vv, pending: this.#pending, maxSeq: this.#maxSeq }
  }

  #table(): EntryTable {
    if (this.#t === null) throw new Error('CounterFold: already adopted by a map')
    return this.#t
  }

  #replica(t: EntryTable, id: string): number {
    if (id === this.#lastId) return this.#lastR
    let r = t.replica(id)
    if (r === undefined) {
      if (!isValidReplicaId(id)) throw invalid(`invalid replica id ${describe(id)}`)
      r = t.replicaFor(id)
      this.#maxSeq[r] = 0
    }
    this.#lastId = id
    this.#lastR = r
    return r
  }
}

// Field-wise max of (p, n, seq) into the entry of replica r in counter c, made when missing.
function putAt(t: EntryTable, c: number, r: number, p: number, n: number, seq: number): void {
  const e = t.find(c, r)
  if (e === END) {
    t.set(t.add(c, r), p, n, seq)
    return
  }
  const op = t.p(e)
  const on = t.n(e)
  const os = t.seq(e)
  if (op >= p && on >= n && os >= seq) return
  t.set(e, Math.max(p, op), Math.max(n, on), Math.max(seq, os))
}

function checkCounts(p: number, n: number, seq: number): void {
  if (!isCount(p) || !isCount(n) || !isCount(seq))
    throw invalid(`entry p, n, seq must be safe counts, got ${describe(p)}, ${describe(n)}, ${describe(seq)}`)
}

// `__proto__` in bytes: the one printable name a state cannot hold.
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]

/** True when `len` bytes of `bytes` from `at` spell a valid counter name (see `isValidName`). */
function isNameBytes(bytes: Uint8Array, at: number, len: number): boolean {
  if (len < 1 || len > MAX_NAME_LENGTH) return false
  for (let i = at; i < at + len; i++) {
    const b = bytes[i] as number
    if (b < 0x21 || b > 0x7e) return false
  }
  return len !== PROTO.length || PROTO.some((b, i) => bytes[at + i] !== b)
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCodes.STATE_INVALID, message)
}
