import { CounterMap, isTallyError } from '@tally/crdt'
import type { Recovered } from './store.js'

/**
 * Rebuilds the counters from what the store recovered: the snapshot, then
 * every logged delta in order (idempotent, so a delta the snapshot already
 * covers is harmless). Deltas the CRDT refuses are skipped and counted rather
 * than failing the start. Throws TALLY_STATE_INVALID for a corrupt snapshot.
 */
export function rebuildCounters(rec: Recovered): { map: CounterMap; skipped: number } {
  const map = CounterMap.fromState(rec.identity.replicaId, rec.state ?? { vv: {}, counters: {} })
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
