import { CounterFold, type CounterMapState, isValidName, isValidReplicaId } from '@tally/crdt'

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/**
 * Folds a snapshot and a long run of logged deltas into one state, cheaply:
 * recovery may replay a million deltas. The counters go into a
 * `CounterFold` (the storage a CounterMap keeps: names once each as bytes,
 * entries as rows of typed arrays), which the daemon's map then takes over
 * as it is (`CounterMap.adopt`, see recovery.ts): no second copy, no name
 * interned twice. Same result as `CounterMap.merge(state)` then `applyDelta`
 * of each delta in order (per-field max of entries; version summary
 * advanced by contiguous ranges, out-of-order ones parked the same way).
 *
 * Untrusted input is checked like `readDelta` (names, replica ids, safe
 * integers), the whole of a delta before any of it is folded; a name
 * already folded was checked when first seen. A compact log row's name is
 * folded where it lies ({@link applyOneBytes}).
 */
export class StateFold {
  readonly #fold = new CounterFold()
  // The replica id last checked: a log holds long runs of one.
  #lastReplica: string | undefined

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
      if (typeof name !== 'string' || !(isValidName(name) || this.#fold.has(name)))
        return `invalid counter name in entry`
      if (!this.#isReplica(t[1])) return `invalid replica id in entry`
      if (!isCount(t[2]) || !isCount(t[3]) || !isCount(t[4])) return 'entry p, n, seq must be safe counts'
    }
    for (const t of ranges) {
      if (!Array.isArray(t) || t.length !== 3 || !this.#isReplica(t[0]) || !isCount(t[1]) || !isCount(t[2]))
        return 'range must be [replica, from, to]'
      if (t[1] > t[2]) return 'range from must be <= to'
    }
    const f = this.#fold
    for (const [name, id, p, n, seq] of entries as Array<[string, string, number, number, number]>)
      f.put(name, id, p, n, seq)
    for (const [r, from, to] of ranges as Array<[string, number, number]>) f.advance(r, from, to)
    return null
  }

  /**
   * Merges one untrusted single-operation delta, `{ ranges: [[id, seq − 1,
   * seq]], entries: [[name, id, p, n, seq]] }` (the compact log row), without
   * that delta being built: the same checks, reasons and result as
   * {@link apply} of it. O(replicas of the counter).
   */
  applyOne(name: unknown, id: unknown, p: unknown, n: unknown, seq: unknown): string | null {
    if (typeof name !== 'string' || !isValidName(name)) return `invalid counter name in entry`
    if (!this.#isReplica(id)) return `invalid replica id in entry`
    if (!isCount(p) || !isCount(n) || !isCount(seq)) return 'entry p, n, seq must be safe counts'
    if (seq < 1) return 'range must be [replica, from, to]'
    this.#fold.put(name, id as string, p, n, seq)
    this.#fold.advance(id as string, seq - 1, seq)
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
    this.#fold.putBytes(bytes, at, len, id as string, p, n, seq)
    this.#fold.advance(id as string, seq - 1, seq)
    return null
  }

  /**
   * Forgets counter `name` and every cell of it (a garbage-collection drop
   * logged at this point): deltas folded later start it afresh. O(replicas of it).
   */
  drop(name: string): void {
    this.#fold.drop(name)
  }

  /** Number of counters folded. */
  get counters(): number {
    return this.#fold.size
  }

  /** The folded version summary. O(replicas). */
  summary(): CounterMapState['vv'] {
    return this.#fold.summary()
  }

  /** The folded state, in `CounterMap.state()` form. O(state). */
  state(): CounterMapState {
    return this.#fold.state()
  }

  /**
   * The folded counters, for the daemon's map to adopt (`CounterMap.adopt`:
   * see recovery.ts). Fold nothing more once it is taken.
   */
  get fold(): CounterFold {
    return this.#fold
  }

  #isReplica(x: unknown): boolean {
    if (x === this.#lastReplica) return true
    if (typeof x !== 'string' || !(this.#fold.knowsReplica(x) || isValidReplicaId(x))) return false
    this.#lastReplica = x
    return true
  }
}
