// Pure pieces of routing decisions: how a node's answer is classified and
// how replica states merge. (How many replicas a level needs is @tally/kit's
// requiredReplicas, the rule the nodes use too.)

import { CounterMap, type CounterMapState } from '@tally/crdt'
import { mergeMarkedStates, safeValue } from './marked-state.js'

/** What to do with one node's answer. */
export type Outcome =
  /** 2xx: use it. */
  | 'ok'
  /** The node answered for the request (4xx, or a write's quorum timeout): relay as-is, do not retry. */
  | 'relay'
  /** The node failed (5xx, garbage): eject it and try another. */
  | 'retry'

/** Error code a node uses when a write landed locally but too few peers confirmed it in time. */
export const QUORUM_TIMEOUT_CODE = 'TALLY_QUORUM_TIMEOUT'

/**
 * Error code a node answers (503) at once when a delete or TTL change at
 * quorum/all needs more replicas than it can reach (members it holds dead):
 * nothing changed, and the message names them and the lower level to use.
 */
export const QUORUM_UNAVAILABLE_CODE = 'TALLY_QUORUM_UNAVAILABLE'

/** Reads `{ error: { code, message } }` from an answer body, if it has that shape. Never throws. */
export function errorOf(json: unknown): { code: string; message: string } | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const err = (json as { error?: unknown }).error
  if (typeof err !== 'object' || err === null) return undefined
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (typeof code !== 'string' || code.length > 200) return undefined
  return { code, message: typeof message === 'string' ? message.slice(0, 2000) : code }
}

/**
 * Classifies a node's HTTP answer. 2xx with a JSON object → ok. 4xx → relay
 * (the client's fault; another node would say the same). 504
 * TALLY_QUORUM_TIMEOUT → relay: the write landed on that node and will
 * replicate; retrying elsewhere would only wait for the same missing peers.
 * 503 TALLY_QUORUM_UNAVAILABLE → relay: the node is fine, the cluster lacks
 * the replicas the level needs (every node would say so), and the client is
 * told which and what to do. Any other 5xx, or a 2xx without a JSON object →
 * retry elsewhere.
 */
export function classify(status: number, json: unknown): Outcome {
  if (status >= 200 && status < 300) {
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? 'ok' : 'retry'
  }
  if (status >= 400 && status < 500) return 'relay'
  if (status === 504 && errorOf(json)?.code === QUORUM_TIMEOUT_CODE) return 'relay'
  if (status === 503 && errorOf(json)?.code === QUORUM_UNAVAILABLE_CODE) return 'relay'
  return 'retry'
}

/**
 * Merges untrusted replica states (as served by a node's `GET /state`) into
 * one CounterMap: per-entry max, so the result includes every write any of
 * them holds. Throws TallyError TALLY_STATE_INVALID for a malformed state.
 */
export function mergeStates(states: readonly unknown[]): CounterMap {
  const m = new CounterMap('gateway')
  for (const s of states) m.merge(s)
  return m
}

/** One node's own value of counter `name` from its served state; null when unreadable. Never throws. */
export function stateValue(state: unknown, name: string): number | null {
  try {
    return safeValue(mergeMarkedStates([state]).bigValue(name), name)
  } catch {
    return null
  }
}

/** Per-replica increment/decrement totals of counter `name` in `state`, sorted by replica. Pure. */
export function replicaTotals(
  state: CounterMapState,
  name: string,
): Array<{ replica: string; increments: number; decrements: number }> {
  return Object.entries(state.counters[name] ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([replica, [p, n]]) => ({ replica, increments: p, decrements: n }))
}
