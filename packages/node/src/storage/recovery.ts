import { CounterMap, isTallyError } from '@tally/crdt'
import type { Recovered, RecoveredSlice } from './store.js'
import { turnClock } from './turn-budget.js'

/**
 * Merges one recovered slice into `map` (`mergeColumns` or `mergePacked`).
 * Throws TALLY_STATE_INVALID for a malformed slice (then `map` is unchanged).
 */
export function mergeSlice(map: CounterMap, slice: RecoveredSlice): boolean {
  return 'packed' in slice ? map.mergePacked(slice.packed) : map.mergeColumns(slice.columns)
}

/** Entries of a folded map accounted for between two looks at the clock (`CounterMap.adopt`). */
const ADOPT_STEP = 4096

/** Slices merged between two young-generation collections while rebuilding (recovery-gc.ts): a snapshot slice holds about 2 048 entries. */
export const COLLECT_EVERY_SLICES = 32

/** Options of {@link rebuildCounters}. */
export interface RebuildOptions {
  /**
   * Runs a young-generation collection (recovery-gc.ts `minorCollection`),
   * called after every `collectEvery` slices so the chunks already merged
   * are freed as the map grows. Absent: none (the runtime collects when it
   * sees fit).
   */
  collect?: (() => void) | null
  /** Slices between two calls of `collect` (default {@link COLLECT_EVERY_SLICES}). */
  collectEvery?: number
}

/**
 * Rebuilds the counters from what the store recovered: the map adopts
 * `fold` first (the log the store folded at open: no copy), then the
 * snapshot's `slices` (merged as read: the event loop gets a
 * turn at least every TURN_BUDGET_MS of merging, plus one slice, and no
 * second copy of the state is ever built; `opts.collect` every
 * `opts.collectEvery` slices), then
 * `state` (the rest of the snapshot with the log folded in), then every
 * logged delta in order (idempotent, so a delta the snapshot already covers
 * is harmless). Deltas the CRDT refuses are skipped and counted rather than
 * failing the start. Rejects with TALLY_STATE_INVALID for a corrupt
 * snapshot, or with the store's error when a slice cannot be read.
 */
export async function rebuildCounters(
  rec: Recovered,
  opts: RebuildOptions = {},
): Promise<{ map: CounterMap; skipped: number }> {
  const clock = turnClock()
  // The counters the store folded already become the map itself (no copy); accounting
  // for them (digest, change logs) is stepped, with a turn every TURN_BUDGET_MS.
  let map: CounterMap
  if (rec.fold) {
    const adoption = CounterMap.adopt(rec.identity.replicaId, rec.fold)
    while (!adoption.step(ADOPT_STEP)) if (clock.due()) await clock.turn()
    map = adoption.map
  } else map = new CounterMap(rec.identity.replicaId)
  // Merges commute: the order changes only the cost.
  // A store reads slices in batches (several per disk read, handed over without a
  // turn of the event loop in between): give the loop a turn every TURN_BUDGET_MS.
  if (rec.slices) {
    const every = opts.collectEvery ?? COLLECT_EVERY_SLICES
    let merged = 0
    for await (const slice of rec.slices()) {
      mergeSlice(map, slice)
      if (opts.collect && ++merged % every === 0) opts.collect()
      if (clock.due()) await clock.turn()
    }
  }
  if (rec.state) map.merge(rec.state)
  let skipped = 0
  for (const d of rec.deltas) {
    try {
      map.applyDelta(d)
    } catch (err) {
      if (!isTallyError(err)) throw err
      skipped++
    }
  }
  return { map, skipped }
}
