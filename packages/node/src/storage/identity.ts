import type { RunningMarker, StoredIdentity } from './record-codec.js'

/**
 * Incarnation numbers are `ms-since-epoch × 1024 + 10 random bits`: a fresh
 * or wiped data dir has no memory of the incarnations it used before, so the
 * number must be new without that memory. Time makes a later incarnation
 * larger than every earlier one on a sane clock; the random bits keep two
 * starts in the same millisecond (or after the clock was set back) apart.
 * Stays a safe integer until the year 2248.
 */
export const INCARNATION_RANDOM_BITS = 10

/**
 * A new incarnation number: `max(now·1024 + ⌊random·1024⌋, previous + 1)`.
 * `now` in ms since epoch, `random` in [0, 1). Pure; throws RangeError if the
 * result would not be a safe integer.
 */
export function newIncarnation(now: number, random: number, previous = 0): number {
  const scale = 2 ** INCARNATION_RANDOM_BITS
  const fromClock = Math.floor(now) * scale + Math.floor(random * scale)
  const n = Math.max(fromClock, previous + 1)
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new RangeError(`incarnation ${n} is not a positive safe integer`)
  return n
}

/** Everything the identity decision depends on. */
export interface IdentityInput {
  nodeId: string
  /** Identity stored in the data dir, null when the dir is new or was wiped. */
  stored: StoredIdentity | null
  /** Running marker left by the previous process; null when it closed cleanly (or never ran). */
  marker: RunningMarker | null
  /** This machine's current boot id, null when unknown (non-Linux). */
  bootId: string | null
  /** True when recovery cut log records (a damaged tail): some local writes may be gone. */
  cutRecords: boolean
  now: number
  random: number
}

/** The identity to run under, whether it is new, and a human reason when it changed. */
export interface IdentityDecision {
  identity: StoredIdentity
  fresh: boolean
  reason: string | null
}

/** Thrown (by the caller) when a data dir belongs to another node id; see {@link decideIdentity}. */
export class ForeignDataDirError extends Error {
  constructor(
    readonly storedNodeId: string,
    readonly nodeId: string,
  ) {
    super(`data dir belongs to node ${JSON.stringify(storedNodeId)}, not ${JSON.stringify(nodeId)}`)
  }
}

/**
 * Decides under which incarnation the node runs. The rule: keep the stored
 * incarnation only when the node can prove it still holds every write it
 * ever made under it. A new incarnation is started when
 *
 * 1. no identity is stored (new or wiped data dir);
 * 2. the previous process did not close cleanly and the machine rebooted
 *    since (or the boot id is unknown): writes not yet fsynced may be gone,
 *    and in-memory state may have been gossiped before it was durable;
 *    after a mere process crash on the same boot the OS still had every
 *    write LevelDB handed it, so nothing was lost;
 * 3. recovery had to cut damaged log records.
 *
 * Pure. Throws {@link ForeignDataDirError} when the stored identity is of
 * another node id (an operator mix-up, never silently adopted).
 */
export function decideIdentity(input: IdentityInput): IdentityDecision {
  const { nodeId, stored, marker, bootId, cutRecords, now, random } = input
  if (stored && stored.nodeId !== nodeId) throw new ForeignDataDirError(stored.nodeId, nodeId)
  let reason: string | null = null
  if (!stored) reason = null
  else if (cutRecords) reason = 'damaged log records were cut, so some local writes may be lost'
  else if (marker && !(bootId !== null && marker.bootId === bootId)) {
    reason =
      bootId === null || marker.bootId === null
        ? 'the previous process did not shut down cleanly and the boot id is unknown'
        : 'the previous process did not shut down cleanly and the machine restarted since'
  }
  if (stored && reason === null) return { identity: stored, fresh: false, reason: null }
  const incarnation = newIncarnation(now, random, stored?.incarnation ?? 0)
  return { identity: { nodeId, incarnation, createdAt: now }, fresh: true, reason }
}
