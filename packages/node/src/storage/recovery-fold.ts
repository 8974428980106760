import { advanceSummary, type CounterMapState, isValidName, isValidReplicaId } from '@tally/crdt'

type Cell = [p: number, n: number, seq: number]

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/**
 * Folds a snapshot and a long run of logged deltas into one state, cheaply:
 * recovery may replay a million deltas, and the daemon then merges one state
 * instead of applying each. Same result as `CounterMap.merge(state)` then
 * `applyDelta` of each delta in order (per-field max of entries; version
 * summary advanced by contiguous ranges, out-of-order ones parked the same
 * way), without the digest and replica-log upkeep a live map needs.
 *
 * Untrusted input is checked like `readDelta` (names, replica ids, safe
 * integers); valid names and ids are remembered so each is checked once.
 */
export class StateFold {
  readonly #counters = new Map<string, Map<string, Cell>>()
  readonly #vv = new Map<string, number>()
  readonly #pending = new Map<string, Array<[number, number]>>()
  readonly #names = new Set<string>()
  readonly #replicas = new Set<string>()

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
      if (!this.#name(t[0])) return `invalid counter name in entry`
      if (!this.#replica(t[1])) return `invalid replica id in entry`
      if (!isCount(t[2]) || !isCount(t[3]) || !isCount(t[4])) return 'entry p, n, seq must be safe counts'
    }
    for (const t of ranges) {
      if (!Array.isArray(t) || t.length !== 3 || !this.#replica(t[0]) || !isCount(t[1]) || !isCount(t[2]))
        return 'range must be [replica, from, to]'
      if (t[1] > t[2]) return 'range from must be <= to'
    }
    for (const [name, r, p, n, seq] of entries as Array<[string, string, number, number, number]>) {
      if (p === 0 && n === 0) continue
      let byReplica = this.#counters.get(name)
      if (!byReplica) {
        byReplica = new Map()
        this.#counters.set(name, byReplica)
      }
      const c = byReplica.get(r)
      if (!c) byReplica.set(r, [p, n, seq])
      else {
        if (p > c[0]) c[0] = p
        if (n > c[1]) c[1] = n
        if (seq > c[2]) c[2] = seq
      }
    }
    for (const [r, from, to] of ranges as Array<[string, number, number]>) this.#advance(r, from, to)
    return null
  }

  /** The folded state, in `CounterMap.state()` form. O(state). */
  state(): CounterMapState {
    const vv: CounterMapState['vv'] = {}
    for (const [r, s] of this.#vv) vv[r] = s
    const counters: CounterMapState['counters'] = {}
    for (const [name, byReplica] of this.#counters) {
      const out: Record<string, Cell> = {}
      for (const [r, c] of byReplica) out[r] = [c[0], c[1], c[2]]
      counters[name] = out
    }
    return { vv, counters }
  }

  #name(x: unknown): boolean {
    if (typeof x !== 'string') return false
    if (this.#names.has(x)) return true
    if (!isValidName(x)) return false
    this.#names.add(x)
    return true
  }

  #replica(x: unknown): boolean {
    if (typeof x !== 'string') return false
    if (this.#replicas.has(x)) return true
    if (!isValidReplicaId(x)) return false
    this.#replicas.add(x)
    return true
  }

  // CounterMap's summary rule, without the digest upkeep a live map needs.
  #advance(r: string, from: number, to: number): void {
    const next = advanceSummary(this.#vv.get(r) ?? 0, this.#pending, r, from, to)
    if (next !== undefined) this.#vv.set(r, next)
  }
}
