// Rate-limit hits through the gateway: forwarded to one node with failover,
// the same Idempotency-Key (the client's, else a fresh one) on every node
// tried. The node decides on its own view; the gateway holds no limit state.

import { randomUUID } from 'node:crypto'
import type { LimitAnswer, LimitHit } from '@tally/kit'
import { forward, type Served } from './forward.js'
import { type Gateway, nameSegment } from './gateway.js'

/**
 * Forwards one checked hit on limit `name` (a valid name) and resolves with
 * the node's answer. A client key also picks the node (rendezvous hashing),
 * so its own retry meets the node that remembers the key. Rejects as
 * `forward` does (TALLY_NO_NODES, TALLY_UPSTREAM_FAILED,
 * TALLY_UPSTREAM_TIMEOUT, or a node's refusal relayed).
 */
export function forwardHit(
  gw: Gateway,
  name: string,
  hit: LimitHit,
  key: string | undefined,
): Promise<Served> {
  return forward(
    gw.registry,
    {
      method: 'POST',
      path: `/limits/${nameSegment(name)}/hit`,
      body: hit,
      headers: { 'idempotency-key': key ?? randomUUID() },
    },
    gw.limits,
    key,
  )
}

/** The decision in a node's answer; throws TypeError when the node answered something else. */
export function answerOf(served: Served): LimitAnswer {
  const j = served.json as Partial<LimitAnswer> | null
  if (
    typeof j?.allowed !== 'boolean' ||
    typeof j.limit !== 'number' ||
    typeof j.remaining !== 'number' ||
    typeof j.resetMs !== 'number'
  )
    throw new TypeError(`node ${served.nodeId} answered a hit without a decision`)
  return { allowed: j.allowed, limit: j.limit, remaining: j.remaining, resetMs: j.resetMs }
}
