// What a snapshot is taken from: a state read a slice at a time, so a
// million counters are encoded over many event-loop turns instead of in one
// block that stalls every request.

import {
  type CounterMap,
  type CounterMapState,
  type PackedColumns,
  packColumns,
  type StateColumns,
  type Summary,
} from '@tally/crdt'
import type { MarksRecord } from '../resets/marks-record.js'

/**
 * A state handed to `Store.snapshot` piece by piece. The store calls
 * `summary()` once, at the moment the log position the snapshot covers is
 * fixed (every logged operation up to there is already applied), and then
 * `slice()` over later event-loop turns; the counters may change in between,
 * as long as they only grow (a CRDT state does), so the slices read later
 * hold at least what the summary claims.
 */
export interface StateSource {
  /** The version summary. Called once, synchronously, when the covered log position is fixed. */
  summary(): Summary
  /** End of the counter numbers to read (counters created later, or given a dropped number later, are in the log after the covered position). */
  size(): number
  /** Counters from number `from` on, at least one, stopping at about `maxEntries` entries, in columns; `next` continues. */
  slice(from: number, maxEntries: number): { columns: StateColumns; next: number }
  /** Optional: the same slice as {@link slice}, packed (what a snapshot writes; else the writer packs the slice). */
  packed?(from: number, maxEntries: number): { columns: PackedColumns; next: number }
  /**
   * Optional: the reset marks, TTLs and keyed answers to keep. Called once,
   * synchronously, right after {@link summary}, at the same log position.
   */
  marks?(): MarksRecord
}

/** A live CounterMap as a source (see CounterMap.stateColumns). */
export function mapSource(map: CounterMap, marks?: () => MarksRecord): StateSource {
  return {
    summary: () => map.summary(),
    size: () => map.counterNumbers,
    slice: (from, maxEntries) => map.stateColumns(from, maxEntries),
    packed: (from, maxEntries) => map.packedColumns(from, maxEntries),
    ...(marks ? { marks } : {}),
  }
}

/** A plain state (taken at the call) as a source. */
export function plainSource(state: CounterMapState): StateSource {
  let names: string[] | null = null
  const all = (): string[] => {
    names ??= Object.keys(state.counters)
    return names
  }
  return {
    summary: () => state.vv,
    size: () => all().length,
    slice(from, maxEntries) {
      const keys = all()
      const names: string[] = []
      const replicas: string[] = []
      const local = new Map<string, number>()
      const rows: number[] = []
      let i = from
      for (; i < keys.length && rows.length < maxEntries * 5; i++) {
        const name = keys[i] as string
        const ci = names.push(name) - 1
        for (const [r, cell] of Object.entries(state.counters[name] ?? {})) {
          let ri = local.get(r)
          if (ri === undefined) {
            ri = replicas.push(r) - 1
            local.set(r, ri)
          }
          rows.push(ci, ri, cell[0], cell[1], cell[2])
        }
      }
      return { columns: { names, replicas, rows }, next: i }
    },
  }
}

/** Slice `from` of `src` packed: its own packed slice when it has one. Throws TALLY_STATE_INVALID for invalid names. */
export function packedSlice(
  src: StateSource,
  from: number,
  maxEntries: number,
): { columns: PackedColumns; next: number } {
  if (src.packed) return src.packed(from, maxEntries)
  const { columns, next } = src.slice(from, maxEntries)
  return { columns: packColumns(columns), next }
}

/** True when `x` is a {@link StateSource} rather than a plain state. */
export function isStateSource(x: CounterMapState | StateSource): x is StateSource {
  return typeof (x as StateSource).slice === 'function'
}

/** The whole state of a source, read at once (for stores that keep it in memory). O(state). */
export function readAll(src: StateSource): CounterMapState {
  const vv = src.summary()
  const counters: CounterMapState['counters'] = {}
  const end = src.size()
  for (let from = 0; from < end; ) {
    const { columns, next } = src.slice(from, 1 << 16)
    const { names, replicas, rows } = columns
    for (let i = 0; i < rows.length; i += 5) {
      const name = names[rows[i] as number] as string
      let byReplica = counters[name]
      if (!byReplica) {
        byReplica = {}
        counters[name] = byReplica
      }
      byReplica[replicas[rows[i + 1] as number] as string] = [
        rows[i + 2] as number,
        rows[i + 3] as number,
        rows[i + 4] as number,
      ]
    }
    from = next
  }
  return { vv, counters }
}
