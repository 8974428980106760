import {
  advanceSummary,
  type CounterMapState,
  isValidName,
  isValidReplicaId,
  type PackedColumns,
  type StateColumns,
} from '@tally/crdt'
import { FoldCells, NONE } from './fold-cells.js'
import { NameTable } from './name-table.js'

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/**
 * Folds a snapshot and a long run of logged deltas into one state, cheaply:
 * recovery may replay a million deltas, and the daemon then merges the
 * result in columns (`CounterMap.mergeColumns`) instead of applying each.
 * Same result as `CounterMap.merge(state)` then `applyDelta` of each delta
 * in order (per-field max of entries; version summary advanced by
 * contiguous ranges, out-of-order ones parked the same way), without the
 * digest and replica-log upkeep a live map needs.
 *
 * Cells are rows of flat arrays (no Map or object per counter or entry), one
 * name lookup per entry; names are kept as bytes (name-table.ts), and a
 * compact log row's name is looked up where it lies ({@link applyOneBytes}).
 * Untrusted input is checked like `readDelta` (names, replica ids, safe
 * integers); a name already folded was checked when first seen.
 */
export class StateFold {
  // Counter name → number (a dropped counter's name finds its newer number); per counter, its first cell.
  readonly #names = new NameTable()
  // Per counter its cells: replica number, p, n, seq.
  readonly #cells = new FoldCells()
  readonly #replicaOf = new Map<string, number>()
  readonly #replicaIds: string[] = []
  readonly #vv = new Map<string, number>()
  readonly #pending = new Map<string, Array<[number, number]>>()
  // Counters dropped (drop()): their number is kept, their name finds a newer one once written again.
  readonly #dropped = new Set<number>()

  /** Starts from `state` (a snapshot, trusted as written by this store; checked like a delta). Throws TypeError when malformed. */
  constructor(state: CounterMapState | null) {
    if (state) this.mergeState(state)
  }

  /**
   * Merges a (partial) state read from a snapshot: its summary and/or a slice
   * of its counters, checked like a delta. Throws TypeError when malformed
   * (then nothing of it was applied). O(size of the state).
   */
  mergeState(state: Partial<CounterMapState>): void {
    const ranges: unknown[] = Object.entries(state.vv ?? {}).map(([r, to]) => [r, 0, to])
    const entries: unknown[] = []
    for (const [name, byReplica] of Object.entries(state.counters ?? {})) {
      if (typeof byReplica !== 'object' || byReplica === null)
        throw new TypeError(`snapshot counter ${name} is malformed`)
      for (const [r, cell] of Object.entries(byReplica)) {
        if (!Array.isArray(cell)) throw new TypeError(`snapshot counter ${name} has a malformed entry`)
        entries.push([name, r, cell[0], cell[1], cell[2]])
      }
    }
    const why = this.apply({ ranges, entries })
    if (why) throw new TypeError(`snapshot: ${why}`)
  }

  /**
   * Merges one untrusted delta. Returns null, or a reason when it is
   * malformed (then nothing of it was applied). O(size of the delta).
   */
  apply(delta: unknown): string | null {
    if (typeof delta !== 'object' || delta === null) return 'delta must be an object'
    const { ranges, entries } = delta as { ranges?: unknown; entries?: unknown }
    if (!Array.isArray(ranges) || !Array.isArray(entries)) return 'delta needs ranges and entries arrays'
    for (const t of entries) {
      if (!Array.isArray(t) || t.length !== 5) return 'entry must be [name, replica, p, n, seq]'
      const name: unknown = t[0]
      if (typeof name !== 'string' || (this.#names.find(name) < 0 && !isValidName(name)))
        return `invalid counter name in entry`
      if (!this.#isReplica(t[1])) return `invalid replica id in entry`
      if (!isCount(t[2]) || !isCount(t[3]) || !isCount(t[4])) return 'entry p, n, seq must be safe counts'
    }
    for (const t of ranges) {
      if (!Array.isArray(t) || t.length !== 3 || !this.#isReplica(t[0]) || !isCount(t[1]) || !isCount(t[2]))
        return 'range must be [replica, from, to]'
      if (t[1] > t[2]) return 'range from must be <= to'
    }
    for (const [name, id, p, n, seq] of entries as Array<[string, string, number, number, number]>) {
      if (p === 0 && n === 0) continue
      this.#put(name, id, p, n, seq)
    }
    for (const [r, from, to] of ranges as Array<[string, number, number]>) this.#advance(r, from, to)
    return null
  }

  /**
   * Merges one untrusted single-operation delta, `{ ranges: [[id, seq − 1,
   * seq]], entries: [[name, id, p, n, seq]] }` (the compact log row), without
   * that delta being built: the same checks, reasons and result as
   * {@link apply} of it, one name lookup. O(replicas of the counter).
   */
  applyOne(name: unknown, id: unknown, p: unknown, n: unknown, seq: unknown): string | null {
    if (typeof name !== 'string') return `invalid counter name in entry`
    const c = this.#names.find(name)
    if (c < 0 && !isValidName(name)) return `invalid counter name in entry`
    if (!this.#isReplica(id)) return `invalid replica id in entry`
    if (!isCount(p) || !isCount(n) || !isCount(seq)) return 'entry p, n, seq must be safe counts'
    if (seq < 1) return 'range must be [replica, from, to]'
    if (p !== 0 || n !== 0)
      this.#putAt(this.#live(c) ?? this.#grow(this.#names.add(name)), id as string, p, n, seq)
    this.#advance(id as string, seq - 1, seq)
    return null
  }

  /**
   * {@link applyOne} of the row whose name is `bytes[at, at + len)`, which
   * the caller has checked is a valid counter name (1–128 bytes of
   * 0x21–0x7E, not `__proto__`: one-op-frame.ts does): the same checks of
   * the other fields, reasons and result, without a string for the name.
   */
  applyOneBytes(
    bytes: Uint8Array,
    at: number,
    len: number,
    id: unknown,
    p: unknown,
    n: unknown,
    seq: unknown,
  ): string | null {
    if (!this.#isReplica(id)) return `invalid replica id in entry`
    if (!isCount(p) || !isCount(n) || !isCount(seq)) return 'entry p, n, seq must be safe counts'
    if (seq < 1) return 'range must be [replica, from, to]'
    if (p !== 0 || n !== 0) {
      const t = this.#names
      const c = t.internBytes(bytes, at, len)
      this.#putAt(t.added ? this.#grow(c) : (this.#live(c) as number), id as string, p, n, seq)
    }
    this.#advance(id as string, seq - 1, seq)
    return null
  }

  // Counter number c (-1: none) when it is live; a dropped one starts afresh under a new number.
  #live(c: number): number | undefined {
    if (c < 0) return undefined
    if (this.#dropped.size === 0 || !this.#dropped.has(c)) return c
    return this.#grow(this.#names.repoint(c))
  }

  // Counter c was just added to the names: give it its (empty) list of cells.
  #grow(c: number): number {
    this.#cells.addCounter()
    return c
  }

  // Per-field max of (p, n, seq) into the cell of (name, id), created if missing.
  #put(name: string, id: string, p: number, n: number, seq: number): void {
    this.#putAt(this.#live(this.#names.find(name)) ?? this.#grow(this.#names.add(name)), id, p, n, seq)
  }

  // The same, for counter number c.
  #putAt(c: number, id: string, p: number, n: number, seq: number): void {
    let r = this.#replicaOf.get(id)
    if (r === undefined) {
      r = this.#replicaIds.push(id) - 1
      this.#replicaOf.set(id, r)
    }
    const t = this.#cells
    const e = t.find(c, r)
    if (e === NONE) {
      t.addCell(c, r, p, n, seq)
      return
    }
    if (p > (t.p[e] as number)) t.p[e] = p
    if (n > (t.n[e] as number)) t.n[e] = n
    if (seq > (t.seq[e] as number)) t.seq[e] = seq
  }

  /**
   * Forgets counter `name` and every cell of it (a garbage-collection drop
   * logged at this point): deltas folded later start it afresh. O(1).
   */
  drop(name: string): void {
    const c = this.#names.find(name)
    if (c < 0 || this.#dropped.has(c)) return
    this.#dropped.add(c)
    this.#cells.head[c] = NONE
  }

  /** Number of counters folded (a dropped one counted until it is read out). */
  get counters(): number {
    return this.#names.size
  }

  /** The folded version summary. O(replicas). */
  summary(): CounterMapState['vv'] {
    const vv: CounterMapState['vv'] = {}
    for (const [r, s] of this.#vv) vv[r] = s
    return vv
  }

  /**
   * The folded counters in slices of about `maxEntries` entries (at least
   * one counter each), in columns for `CounterMap.mergeColumns`. Read them
   * before folding anything more. O(state).
   */
  *columns(maxEntries: number): Generator<StateColumns> {
    const total = this.#names.size
    for (let from = 0; from < total; ) {
      const rows: number[] = []
      let c = from
      for (; c < total && rows.length < maxEntries * 5; c++) {
        for (let e = this.#cells.head[c] as number; e !== NONE; e = this.#cells.next[e] as number)
          rows.push(
            c - from,
            this.#cells.rep[e] as number,
            this.#cells.p[e] as number,
            this.#cells.n[e] as number,
            this.#cells.seq[e] as number,
          )
      }
      const names: string[] = []
      for (let k = from; k < c; k++) names.push(this.#names.name(k))
      yield { names, replicas: this.#replicaIds, rows }
      from = c
    }
  }

  /**
   * The folded counters in slices of about `maxEntries` entries (at least
   * one counter each), as packed columns for `CounterMap.mergePacked` (the
   * names as the bytes they are kept in: no string per counter). The same
   * entries as {@link columns}, without the dropped counters. Read them
   * before folding anything more. O(state).
   */
  *packed(maxEntries: number): Generator<PackedColumns> {
    const t = this.#names
    const total = t.size
    for (let from = 0; from < total; ) {
      let c = from
      let counters = 0
      let entries = 0
      let bytes = 0
      for (; c < total && entries < maxEntries; c++) {
        if (this.#cells.head[c] === NONE) continue
        counters++
        bytes += t.length(c)
        for (let e = this.#cells.head[c] as number; e !== NONE; e = this.#cells.next[e] as number) entries++
      }
      if (counters > 0) {
        const out: PackedColumns = {
          nameBytes: new Uint8Array(bytes),
          nameLengths: new Uint8Array(counters),
          entryCounts: new Uint32Array(counters),
          replicas: this.#replicaIds,
          entryReplicas: new Uint32Array(entries),
          values: new Float64Array(entries * 3),
        }
        let k = 0
        let at = 0
        let x = 0
        for (let i = from; i < c; i++) {
          if (this.#cells.head[i] === NONE) continue
          const len = t.length(i)
          out.nameBytes.set(t.bytes.subarray(t.start(i), t.start(i) + len), at)
          at += len
          out.nameLengths[k] = len
          let count = 0
          for (let e = this.#cells.head[i] as number; e !== NONE; e = this.#cells.next[e] as number) {
            out.entryReplicas[x] = this.#cells.rep[e] as number
            out.values[x * 3] = this.#cells.p[e] as number
            out.values[x * 3 + 1] = this.#cells.n[e] as number
            out.values[x * 3 + 2] = this.#cells.seq[e] as number
            x++
            count++
          }
          out.entryCounts[k++] = count
        }
        yield out
      }
      from = c
    }
  }

  /** The folded state, in `CounterMap.state()` form. O(state). */
  state(): CounterMapState {
    const counters: CounterMapState['counters'] = {}
    for (let c = 0; c < this.#names.size; c++) {
      if (this.#cells.head[c] === NONE) continue // dropped
      const out: Record<string, [number, number, number]> = {}
      for (let e = this.#cells.head[c] as number; e !== NONE; e = this.#cells.next[e] as number)
        out[this.#replicaIds[this.#cells.rep[e] as number] as string] = [
          this.#cells.p[e] as number,
          this.#cells.n[e] as number,
          this.#cells.seq[e] as number,
        ]
      counters[this.#names.name(c)] = out
    }
    return { vv: this.summary(), counters }
  }

  #isReplica(x: unknown): boolean {
    return typeof x === 'string' && (this.#replicaOf.has(x) || this.#vv.has(x) || isValidReplicaId(x))
  }

  // CounterMap's summary rule, without the digest upkeep a live map needs.
  #advance(r: string, from: number, to: number): void {
    const next = advanceSummary(this.#vv.get(r) ?? 0, this.#pending, r, from, to)
    if (next !== undefined) this.#vv.set(r, next)
  }
}
