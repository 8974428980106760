// Which application of a duplicated Idempotency-Key stays, and which ones
// this node must cancel. Pure and deterministic: every node reaches the same
// verdict from the same applications, so exactly the losers compensate, each
// on its own node (only a replica writes its own entries), once.

import { sameOp } from './idempotency.js'
import type { KeyRecord } from './key-ledger.js'

/** Verdict of {@link reconcile}. */
export type Verdict =
  /** Zero or one application: nothing to do. */
  | { kind: 'single' }
  /** The key was applied with different counters/operations/amounts: nothing is cancelled (a client bug, not a retry). */
  | { kind: 'mismatch' }
  /** Two or more applications of the same request: `winner` stays; `compensate` are this node's losers not yet cancelled. */
  | { kind: 'duplicate'; winner: KeyRecord; compensate: KeyRecord[] }

/**
 * Strict order of applications: smaller `attempt` first (the first try
 * beats a retry, whose node was alive moments ago), then replica id, then
 * seq. Negative when `a` wins over `b`. Pure.
 */
export function compareApplications(a: KeyRecord, b: KeyRecord): number {
  if (a.attempt !== b.attempt) return a.attempt - b.attempt
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1
  return a.seq - b.seq
}

/**
 * Decides what to do about the applications of one key, as seen by the node
 * whose replica id is `self`. The winner is the smallest application by
 * {@link compareApplications}; `compensate` lists every other application
 * of replica `self` not yet compensated. The globally smallest application
 * never sees a smaller one, so one always stays, whatever a node has learnt
 * so far. Pure.
 */
export function reconcile(apps: readonly KeyRecord[], self: string): Verdict {
  const first = apps[0]
  if (!first || apps.length < 2) return { kind: 'single' }
  let winner = first
  for (const a of apps) {
    if (!sameOp(a, first)) return { kind: 'mismatch' }
    if (compareApplications(a, winner) < 0) winner = a
  }
  const compensate = apps.filter((a) => a !== winner && a.replica === self && a.compensated !== true)
  return { kind: 'duplicate', winner, compensate }
}
