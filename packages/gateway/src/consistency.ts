// Pure pieces of routing decisions: how many replicas a read level needs,
// how a node's answer is classified, and how replica states merge.

import { CounterMap } from '@tally/crdt'

/** Values of `?consistency=`. */
export const CONSISTENCY_LEVELS = ['one', 'quorum', 'all'] as const

/** One of {@link CONSISTENCY_LEVELS}. */
export type Consistency = (typeof CONSISTENCY_LEVELS)[number]

/** True when `x` is a consistency level. Never throws. */
export function isConsistency(x: unknown): x is Consistency {
  return typeof x === 'string' && (CONSISTENCY_LEVELS as readonly string[]).includes(x)
}

/**
 * Replicas a read at `level` must merge when the gateway knows `n` nodes
 * (ejected ones included): one → 1, quorum → ⌊n/2⌋+1, all → n. With writes
 * acknowledged by a quorum of the same n nodes, R + W > n, so a quorum read
 * overlaps every quorum-acknowledged write. Returns at least 1.
 */
export function requiredReplicas(level: Consistency, n: number): number {
  switch (level) {
    case 'one':
      return 1
    case 'quorum':
      return Math.floor(Math.max(n, 1) / 2) + 1
    case 'all':
      return Math.max(n, 1)
  }
}

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
 * Any other 5xx, or a 2xx without a JSON object → retry elsewhere.
 */
export function classify(status: number, json: unknown): Outcome {
  if (status >= 200 && status < 300) {
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? 'ok' : 'retry'
  }
  if (status >= 400 && status < 500) return 'relay'
  if (status === 504 && errorOf(json)?.code === QUORUM_TIMEOUT_CODE) return 'relay'
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
