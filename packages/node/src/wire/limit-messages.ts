// The LIMITS gossip message (rate-limit window buckets) and its pure
// validator. Buckets are state: a tuple carries one replica's count in one
// window bucket of one limit, and merging keeps the per-replica maximum, so
// any tuple may be sent any number of times, in any order. See
// docs/protocol.md ("Rate-limit buckets").

import { isValidName, isValidReplicaId } from '@tally/crdt'

/**
 * One replica's count in one window bucket: limit `name` with windows of
 * `windowMs`, the window starting at `start` (ms since the epoch, a multiple
 * of `windowMs`), `replica`'s hits in it.
 */
export type BucketTuple = [name: string, windowMs: number, start: number, replica: string, count: number]

/**
 * LIMITS: with `b`, bucket tuples to merge (eager push, forward, or an
 * anti-entropy answer; `s: 1` asks the receiver to answer with its own live
 * buckets if it holds any the sender lacks); without `b`, only `d`, the
 * digest of the sender's live buckets (an anti-entropy opener: a receiver
 * whose digest differs answers with its buckets and `s: 1`).
 */
export interface LimitsMsg {
  t: 7
  f: string
  a?: string
  d?: string
  b?: BucketTuple[]
  s?: 1
  /** When the sender sent it (its clock, ms since the epoch): receivers measure transit times. */
  ts?: number
}

/** Most tuples accepted in one LIMITS frame (senders split bigger sets). */
export const MAX_BUCKET_TUPLES = 20_000

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/
const ADDR = /^[A-Za-z0-9.:[\]-]{1,300}$/
const LIMIT_DIGEST = /^\d{1,12}:[0-9a-f]{16}$/
const isPos = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1
const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

/** True for a well-formed bucket tuple (name rule, replica id, `start` a multiple of `windowMs`). Never throws. */
export function isBucketTuple(x: unknown): x is BucketTuple {
  if (!Array.isArray(x) || x.length !== 5) return false
  const [name, windowMs, start, replica, count] = x as unknown[]
  return (
    isValidName(name) &&
    isPos(windowMs) &&
    isNat(start) &&
    start % windowMs === 0 &&
    isValidReplicaId(replica) &&
    isPos(count)
  )
}

/** A LIMITS message from an untrusted decoded object with `t === 7`, or null for a wrong shape. Pure. */
export function readLimitsMsg(x: Record<string, unknown>): LimitsMsg | null {
  for (const k of Object.keys(x)) if (!['t', 'f', 'a', 'd', 'b', 's', 'ts'].includes(k)) return null
  if (x.ts !== undefined && !isNat(x.ts)) return null
  if (typeof x.f !== 'string' || !NODE_ID.test(x.f)) return null
  if (x.a !== undefined && (typeof x.a !== 'string' || !ADDR.test(x.a))) return null
  if (x.d !== undefined && (typeof x.d !== 'string' || !LIMIT_DIGEST.test(x.d))) return null
  if (x.s !== undefined && x.s !== 1) return null
  if (x.b !== undefined) {
    if (!Array.isArray(x.b) || x.b.length > MAX_BUCKET_TUPLES) return null
    for (const t of x.b) if (!isBucketTuple(t)) return null
  }
  if (x.b === undefined && x.d === undefined) return null
  return x as unknown as LimitsMsg
}
