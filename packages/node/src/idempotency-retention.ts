import type { IdempotencyRecord } from './store.js'

/**
 * The records still inside retention at `now` (`at > now - ttl`, all in ms),
 * one per key (the first seen wins: it is the original answer), oldest first.
 * Pure.
 */
export function liveIdempotency(
  records: Iterable<IdempotencyRecord>,
  now: number,
  ttl: number,
): IdempotencyRecord[] {
  const byKey = new Map<string, IdempotencyRecord>()
  for (const r of records) if (r.at > now - ttl && !byKey.has(r.key)) byKey.set(r.key, r)
  return [...byKey.values()].sort((a, b) => a.at - b.at)
}
