import type { IdempotencyRecord } from '../storage/store.js'

/**
 * Identity of an idempotency record: one application of a key, i.e. the key
 * and the operation `(replica, seq)` that applied it (just the key for records
 * written before keys were replicated). Pure.
 */
export function idemId(r: IdempotencyRecord): string {
  return r.replica === undefined ? r.key : `${r.key}\u0000${r.replica}\u0000${r.seq ?? 0}`
}

/**
 * Adds `r` to `byId` (keyed by {@link idemId}): the first copy of an
 * application is kept (it is the original answer), except that a later copy
 * saying `compensated` marks it compensated. Mutates `byId` only.
 */
export function mergeIdem(byId: Map<string, IdempotencyRecord>, r: IdempotencyRecord): void {
  const id = idemId(r)
  const old = byId.get(id)
  if (!old) byId.set(id, r)
  else if (r.compensated === true && old.compensated !== true) byId.set(id, { ...old, compensated: true })
}

/**
 * The records still inside retention at `now` (`at > now - ttl`, all in ms),
 * one per application (see {@link mergeIdem}), oldest first. Pure.
 */
export function liveIdempotency(
  records: Iterable<IdempotencyRecord>,
  now: number,
  ttl: number,
): IdempotencyRecord[] {
  const byId = new Map<string, IdempotencyRecord>()
  for (const r of records) if (r.at > now - ttl) mergeIdem(byId, r)
  return [...byId.values()].sort((a, b) => a.at - b.at)
}
