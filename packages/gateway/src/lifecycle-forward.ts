// Deletes and TTL changes through the gateway: forwarded with failover like
// writes, one Idempotency-Key (the client's, else a fresh UUID) reused on
// every node tried, so a retry after a lost answer gets the first answer
// instead of deleting again what was written meanwhile.

import { randomUUID } from 'node:crypto'
import { forward, type Served } from './forward.js'
import type { Gateway } from './gateway.js'

/**
 * `method path` (with a JSON `body` for PUT) on a node, with failover.
 * Resolves with the node's answer; rejects as `forward` does (a node's 4xx
 * relayed as RelayedError). A client key also picks the node (rendezvous
 * hashing), as for writes.
 */
export function forwardLifecycle(
  gw: Gateway,
  method: 'PUT' | 'DELETE',
  path: string,
  body: unknown,
  idempotencyKey: string | undefined,
): Promise<Served> {
  const key = idempotencyKey ?? randomUUID()
  return forward(
    gw.registry,
    { method, path, ...(body === undefined ? {} : { body }), headers: { 'idempotency-key': key } },
    gw.limits,
    idempotencyKey,
  )
}
