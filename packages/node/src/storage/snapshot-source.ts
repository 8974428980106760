// What a snapshot is taken from: a state read a slice at a time, so a
// million counters are encoded over many event-loop turns instead of in one
// block that stalls every request.

import type { CounterMap, CounterMapState, Summary } from '@tally/crdt'

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
  /** Counters to read (those created later are in the log after the covered position). */
  size(): number
  /** Counters from number `from` on, at least one, stopping at about `maxEntries` entries; `next` continues. */
  slice(from: number, maxEntries: number): { counters: CounterMapState['counters']; next: number }
}

/** A live CounterMap as a source (see CounterMap.stateSlice). */
export function mapSource(map: CounterMap): StateSource {
  return {
    summary: () => map.summary(),
    size: () => map.size,
    slice: (from, maxEntries) => map.stateSlice(from, maxEntries),
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
      const counters: CounterMapState['counters'] = {}
      let taken = 0
      let i = from
      for (; i < keys.length && taken < maxEntries; i++) {
        const name = keys[i] as string
        const byReplica = state.counters[name] as Record<string, [number, number, number]>
        counters[name] = byReplica
        taken += Object.keys(byReplica).length
      }
      return { counters, next: i }
    },
  }
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
    const s = src.slice(from, 1 << 16)
    Object.assign(counters, s.counters)
    from = s.next
  }
  return { vv, counters }
}
