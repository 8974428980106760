// A delete or TTL change at quorum/all that cannot succeed right now: it
// needs more replicas than this node can reach (members its failure detector
// holds dead are never pulled), so waiting out --quorum-timeout would only
// end in TALLY_QUORUM_TIMEOUT. It is refused at once instead, naming the
// members that are down and the way out (a lower level), with nothing
// changed. Pure: consistent-resets.ts passes the membership view.

import { type Consistency, requiredReplicas } from '@tally/kit'
import { NodeError, NodeErrorCodes } from '../errors.js'

/** What the check reads of membership. */
export interface ReplicaView {
  /** Replicas the level needs, self included (`requiredReplicas`). */
  required: number
  /** Replicas this node can pull from, self included (members not held dead, plus itself). */
  reachable: number
  /** Ids of the members held dead, sorted. */
  down: readonly string[]
  /** Replicas counted in the cluster size (`--cluster-size`) this node does not know yet. */
  unknown: number
}

/**
 * NodeError TALLY_QUORUM_UNAVAILABLE (details `required`, `reachable`,
 * `down`, the ids comma-separated) when `view.reachable < view.required`, else null. The message
 * names the down members and suggests `quorum` (from `all`, when enough are
 * reachable for it) or waiting for them. Pure; never throws.
 */
export function replicasShort(level: Consistency, view: ReplicaView): NodeError | null {
  const { required, reachable, down, unknown } = view
  if (reachable >= required) return null
  const who = [
    ...(down.length > 0 ? [`down: ${down.join(', ')}`] : []),
    ...(unknown > 0 ? [`${unknown} not known to this node yet (--cluster-size)`] : []),
  ].join('; ')
  // At `all`, required is the cluster size N: quorum would need ⌊N/2⌋+1.
  const quorumOk = level === 'all' && reachable >= requiredReplicas('quorum', required)
  const way = quorumOk
    ? 'retry at consistency quorum (HTTP ?consistency=quorum, RESP TALLY.DEL … CONSISTENCY quorum), which covers every write acknowledged at quorum, or once they are back'
    : 'retry once they are back, or at consistency one (this node alone)'
  return new NodeError(
    NodeErrorCodes.QUORUM_UNAVAILABLE,
    `consistency ${level} needs ${required} replicas, this node included, and only ${reachable} can be reached (${who}); nothing was changed: ${way}`,
    { details: { required, reachable, down: down.join(',') } },
  )
}
