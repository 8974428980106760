// Deletes and TTL changes through the gateway: forwarded with failover like
// writes, one Idempotency-Key (the client's, else a fresh UUID) reused on
// every node tried, so a retry after a lost answer gets the first answer
// instead of deleting again what was written meanwhile, and a consistency
// level (the client's, else LIFECYCLE_DEFAULT_CONSISTENCY) passed to the node.

import { randomUUID } from 'node:crypto'
import type { Consistency } from '@tally/kit'
import { forward, type Served } from './forward.js'
import type { Gateway } from './gateway.js'

/**
 * The level of deletes and TTL changes (HTTP without `?consistency=`, RESP
 * `DEL`/`UNLINK`/`EXPIRE`/`PEXPIRE`/`PERSIST`): `all`. The gateway's writes
 * default to `one` (acknowledged by the one node that took them), and only a
 * node that pulls the counter from every replica before its reset is sure
 * to hold that write, so a delete right after a write through the gateway
 * removes it whichever node each reached. The price: while a member is
 * down, such a delete changes nothing and says so: 503
 * `TALLY_QUORUM_UNAVAILABLE` at once (naming the down member and
 * `?consistency=quorum`) once the node holds it dead, 504
 * `TALLY_QUORUM_TIMEOUT` before; `?consistency=quorum` then covers every
 * write acknowledged at quorum (README, "Delete and TTL"). `quorum` as the
 * default would answer 200 to a delete that missed a write just
 * acknowledged at `one`: silently less than asked.
 */
export const LIFECYCLE_DEFAULT_CONSISTENCY: Consistency = 'all'

/**
 * `method path` (with a JSON `body` for PUT) on a node at `consistency`,
 * with failover. Resolves with the node's answer; rejects as `forward` does
 * (a node's 4xx, 504 `TALLY_QUORUM_TIMEOUT` and 503 `TALLY_QUORUM_UNAVAILABLE`
 * relayed as RelayedError). A
 * client key also picks the node (rendezvous hashing), as for writes.
 */
export function forwardLifecycle(
  gw: Gateway,
  method: 'PUT' | 'DELETE',
  path: string,
  body: unknown,
  idempotencyKey: string | undefined,
  consistency: Consistency = LIFECYCLE_DEFAULT_CONSISTENCY,
): Promise<Served> {
  const key = idempotencyKey ?? randomUUID()
  return forward(
    gw.registry,
    {
      method,
      path: `${path}?consistency=${consistency}`,
      ...(body === undefined ? {} : { body }),
      headers: { 'idempotency-key': key },
    },
    gw.limitsFor(consistency),
    idempotencyKey,
  )
}
