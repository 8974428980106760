import type { IdempotencyRecord } from '../storage/store.js'
import { RecordSet } from './record-set.js'

/**
 * The records still inside retention at `now` (`at > now - ttl`, all in ms),
 * one per application of a key (see {@link RecordSet}: the first copy is
 * kept, a compensated copy marks it compensated), oldest first. Pure.
 */
export function liveIdempotency(
  records: Iterable<IdempotencyRecord>,
  now: number,
  ttl: number,
): IdempotencyRecord[] {
  const set = new RecordSet()
  for (const r of records) if (r.at > now - ttl) set.add(r)
  return set.live(now, ttl)
}
