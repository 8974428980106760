import { type CounterFold, CounterMap, isTallyError } from '@tally/crdt'
import type { Recovered, RecoveredSlice } from './store.js'
import { type TurnClock, turnClock } from './turn-budget.js'

/**
 * Merges one recovered slice into `map` (`mergeColumns` or `mergePacked`).
 * Throws TALLY_STATE_INVALID for a malformed slice (then `map` is unchanged).
 */
export function mergeSlice(map: CounterMap, slice: RecoveredSlice): boolean {
  return 'packed' in slice ? map.mergePacked(slice.packed) : map.mergeColumns(slice.columns)
}

/**
 * Entries of a folded map accounted for (`CounterMap.adopt`), or merged,
 * between two looks at the clock. Small, for the first steps of a process:
 * the code that accounts for a fold's entries, and that merges entries into
 * ones the map holds, runs first after a snapshot's bulk load, not yet
 * compiled, at 6–15 µs an entry; steps of 4 096 entries then held the event
 * loop 26–63 ms (a log tail of 10 000 operations after a million-counter
 * snapshot). Compiled, 512 entries take well under a millisecond.
 */
const ADOPT_STEP = 512

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
 * Rebuilds the counters from what the store recovered: the snapshot's
 * `slices` (merged as read: the event loop gets a
 * turn at least every TURN_BUDGET_MS of merging, plus one slice, and no
 * second copy of the state is ever built; `opts.collect` every
 * `opts.collectEvery` slices), then `fold` (the log the store folded at
 * open; with no slices the map is the fold itself, adopted without a
 * copy; after a snapshot it is adopted apart and merged in), then
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
  // A log alone: the counters the store folded become the map itself (no copy); accounting
  // for them (digest, change logs) is stepped, with a turn every TURN_BUDGET_MS.
  const alone = rec.slices === undefined ? rec.fold : undefined
  const map = alone
    ? await adopted(rec.identity.replicaId, alone, clock)
    : new CounterMap(rec.identity.replicaId)
  // Merges commute: the order changes only the cost. The snapshot's bulk goes first, into
  // the empty map (its entries come in seq order when it was written so, and the change logs
  // then need no sort), then the log folded after it.
  // A store reads slices in batches (several per disk read, handed over without a
  // turn of the event loop in between): give the loop a turn every TURN_BUDGET_MS.
  if (rec.slices) {
    // The index sized for the snapshot's counters (and the log's) at once: none re-placed as it grows.
    if (rec.sliceCounters !== undefined) map.reserve(rec.sliceCounters + (rec.fold?.size ?? 0))
    const every = opts.collectEvery ?? COLLECT_EVERY_SLICES
    let merged = 0
    for await (const slice of rec.slices()) {
      mergeSlice(map, slice)
      if (opts.collect && ++merged % every === 0) opts.collect()
      if (clock.due()) await clock.turn()
    }
  }
  if (rec.fold && alone === undefined) {
    // The log after a snapshot: usually small beside it. Made a map of its own, then merged in packed slices.
    const tail = await adopted(rec.identity.replicaId, rec.fold, clock)
    for (let from = 0; from < tail.counterNumbers; ) {
      const { columns, next } = tail.packedColumns(from, ADOPT_STEP)
      map.mergePacked(columns)
      from = next
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

// `fold` made a map of `replica` (CounterMap.adopt), a step at a time, with a turn whenever `clock` is due.
async function adopted(replica: string, fold: CounterFold, clock: TurnClock): Promise<CounterMap> {
  const adoption = CounterMap.adopt(replica, fold)
  while (!adoption.step(ADOPT_STEP)) if (clock.due()) await clock.turn()
  return adoption.map
}
