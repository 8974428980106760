// Pure helpers for moving a bounded counter's rights on demand: how many
// rights a replica holds, whom to ask, and how much to give when asked.
// Rights stay where increments happen and move only when a replica that
// wants to decrement asks for them: the daemon sends the request, the
// asked replica decides with `grantFor` and, when it grants, calls
// `transfer(requester, granted)` and sends the resulting delta back.
import {
  type BoundedCounterState,
  type BoundedTables,
  readBounded,
  replicasOf,
  rightsBig,
} from './bounded-state.js'
import { toSafeNumber } from './counts.js'
import { ErrorCodes } from './errors.js'
import { assertAmount, assertReplicaId, describe } from './validate.js'

/** How much an asked replica gives; see {@link grantFor}. */
export interface GrantPolicy {
  /** Rights the giver keeps for its own decrements (non-negative safe integer; default 0). */
  keep?: number
}

function read(state: BoundedCounterState): BoundedTables {
  return readBounded(state, ErrorCodes.STATE_INVALID, 'state')
}

/**
 * Rights of `replica` in `state` (a bounded counter state, e.g. `counter.state()`):
 * p[i] + Σ r[j][i] − Σ r[i][j] − n[i]; 0 for a replica the state does not
 * know. Pure. Throws TALLY_REPLICA_INVALID, TALLY_STATE_INVALID (the state is
 * validated like `fromState`'s), TALLY_VALUE_UNSAFE if beyond 2^53−1.
 * O(entries × replicas).
 */
export function rightsOf(state: BoundedCounterState, replica: string): number {
  assertReplicaId(replica)
  return toSafeNumber(rightsBig(read(state), replica), `the rights of ${describe(replica)}`)
}

/**
 * The replica holding the most rights in `state`, other than `except`
 * (usually the asking replica itself), or undefined when no other replica
 * holds any. Ties go to the smallest id, so every caller with the same
 * state asks the same replica. A remote replica's rights are as this state
 * knows them: it may have spent some since. Pure. Throws
 * TALLY_STATE_INVALID, TALLY_REPLICA_INVALID for a bad `except`.
 */
export function richestReplica(state: BoundedCounterState, except?: string): string | undefined {
  if (except !== undefined) assertReplicaId(except)
  const t = read(state)
  let best: string | undefined
  let most = 0n
  for (const id of [...replicasOf(t)].sort()) {
    if (id === except) continue
    const rights = rightsBig(t, id)
    if (rights > most) {
      best = id
      most = rights
    }
  }
  return best
}

/**
 * How many rights replica `self` gives `requester`, who asked for `wanted`,
 * given `self`'s view `state`. The default policy gives what was asked if
 * `self` keeps at least 0 rights, and otherwise all it holds (a partial
 * grant: the requester may ask another replica for the rest); with
 * `policy.keep = k` it gives only rights beyond k. 0 when `requester` is
 * `self` or `self` holds nothing spare. Pure: the caller then calls
 * `counter.transfer(requester, granted)` when the result is positive.
 * Throws TALLY_REPLICA_INVALID, TALLY_AMOUNT_INVALID (`wanted` not a
 * positive safe integer), TALLY_STATE_INVALID; RangeError for a bad `keep`.
 */
export function grantFor(
  state: BoundedCounterState,
  self: string,
  requester: string,
  wanted: number,
  policy: GrantPolicy = {},
): number {
  assertReplicaId(self)
  assertReplicaId(requester)
  assertAmount(wanted)
  const keep = policy.keep ?? 0
  if (!Number.isSafeInteger(keep) || keep < 0)
    throw new RangeError(`grantFor: keep must be a non-negative safe integer, got ${describe(keep)}`)
  const t = read(state)
  if (requester === self) return 0
  const spare = rightsBig(t, self) - BigInt(keep)
  if (spare <= 0n) return 0
  return spare >= BigInt(wanted) ? wanted : Number(spare)
}
