import { CounterMap, isTallyError } from '@tally/crdt'
import type { Recovered } from './store.js'

/**
 * Rebuilds the counters from what the store recovered: the snapshot (its
 * `state`, then each of its `slices`, merged as read: the event loop runs
 * between two slices and no second copy of the state is ever built), then
 * every logged delta in order (idempotent, so a delta the snapshot already
 * covers is harmless). Deltas the CRDT refuses are skipped and counted
 * rather than failing the start. Rejects with TALLY_STATE_INVALID for a
 * corrupt snapshot, or with the store's error when a slice cannot be read.
 */
export async function rebuildCounters(rec: Recovered): Promise<{ map: CounterMap; skipped: number }> {
  const map = CounterMap.fromState(rec.identity.replicaId, rec.state ?? { vv: {}, counters: {} })
  if (rec.slices) for await (const columns of rec.slices()) map.mergeColumns(columns)
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
