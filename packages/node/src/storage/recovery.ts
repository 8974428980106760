import { CounterMap, isTallyError } from '@tally/crdt'
import type { Recovered } from './store.js'

/**
 * Rebuilds the counters from what the store recovered: the snapshot's
 * `slices` first (merged as read into the empty map: the event loop runs
 * between two slices and no second copy of the state is ever built), then
 * `state` (the rest of the snapshot with the log folded in), then every
 * logged delta in order (idempotent, so a delta the snapshot already covers
 * is harmless). Deltas the CRDT refuses are skipped and counted rather than
 * failing the start. Rejects with TALLY_STATE_INVALID for a corrupt
 * snapshot, or with the store's error when a slice cannot be read.
 */
export async function rebuildCounters(rec: Recovered): Promise<{ map: CounterMap; skipped: number }> {
  const map = new CounterMap(rec.identity.replicaId)
  // Merges commute: the order changes only the cost (the bulk goes into an empty map).
  if (rec.slices) for await (const columns of rec.slices()) map.mergeColumns(columns)
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
