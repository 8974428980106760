// The gossip messages of deletes and TTL changes at `?consistency=quorum|all`
// (see docs/protocol.md, "Consistent deletes and TTL changes"): the serving
// node pulls one counter's state from peers before its reset, then sends the
// resulting mark (and the keyed answer) with an ack request. Pure
// validators: the delta is validated again, in full, by @tally/crdt before
// anything is merged, the mark tuples by readMarkTuples.

import { isValidName } from '@tally/crdt'
import { isIdempotencyKey } from '@tally/kit'
import { type MarkTuple, readMarkTuples } from '../resets/mark-tuple.js'
import { type ResetKeyRecord, readResetKey } from '../resets/marks-record.js'

/** Wire type tags of these messages (part of `MsgType`; numbers are stable). */
export const ResetMsgType = {
  /** "Send me your state of counter `n`" (request `q`), answered by R_STATE. */
  R_PULL: 9,
  /** Answer to R_PULL `q`: the counter's entries (durable ones), its mark, the answer under key `k`. */
  R_STATE: 10,
  /** Marks (and keyed answers) of a consistent delete/TTL change, to merge and ack (`q`) once written. */
  R_MARKS: 11,
  /** Answer to R_MARKS `q`: the marks and answers are written here. */
  R_ACK: 12,
} as const

/** R_PULL: request `q` for counter `n`; `k`: the request's Idempotency-Key, if any. */
export interface RPullMsg {
  t: typeof ResetMsgType.R_PULL
  f: string
  q: number
  n: string
  k?: string
}

/**
 * R_STATE: answer to R_PULL `q`. `delta`: the responder's entries of the
 * counter (no ranges); `m`: its mark tuple (absent: none); `r`: its answer
 * under the pull's key (absent: none).
 */
export interface RStateMsg {
  t: typeof ResetMsgType.R_STATE
  f: string
  q: number
  delta: unknown
  m?: MarkTuple[]
  r?: ResetKeyRecord[]
}

/** R_MARKS: mark tuples `m` and keyed answers `r` to merge; `q`: ack request id (absent: no ack). */
export interface RMarksMsg {
  t: typeof ResetMsgType.R_MARKS
  f: string
  m: MarkTuple[]
  r?: ResetKeyRecord[]
  q?: number
}

/** R_ACK for request `q`. */
export interface RAckMsg {
  t: typeof ResetMsgType.R_ACK
  f: string
  q: number
}

export type ResetMessage = RPullMsg | RStateMsg | RMarksMsg | RAckMsg

const TAGS = new Set<number>(Object.values(ResetMsgType))

/** True for a message of one of the {@link ResetMsgType} tags. */
export function isResetMessage(msg: { t: number }): msg is ResetMessage {
  return TAGS.has(msg.t)
}

/** Most keyed answers in one message (a pull asks about one key; a reset answers one). */
const MAX_RESET_KEYS = 16

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/
const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)
const isReqId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

function only(x: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k of Object.keys(x)) if (!allowed.includes(k)) return false
  return true
}

function readKeys(x: unknown): ResetKeyRecord[] | null {
  if (!Array.isArray(x) || x.length > MAX_RESET_KEYS) return null
  const out: ResetKeyRecord[] = []
  for (const e of x) {
    const r = readResetKey(e)
    if (!r) return null
    out.push(r)
  }
  return out
}

/**
 * Turns an untrusted decoded value with a {@link ResetMsgType} tag into a
 * typed message (fresh copies of tuples and records); null for anything of
 * the wrong shape or another tag. Pure, never throws.
 */
export function readResetMessage(x: Record<string, unknown>): ResetMessage | null {
  if (typeof x.f !== 'string' || !NODE_ID.test(x.f)) return null
  switch (x.t) {
    case ResetMsgType.R_PULL: {
      if (!only(x, ['t', 'f', 'q', 'n', 'k']) || !isReqId(x.q) || !isValidName(x.n)) return null
      if (x.k !== undefined && !isIdempotencyKey(x.k)) return null
      const out: RPullMsg = { t: ResetMsgType.R_PULL, f: x.f, q: x.q, n: x.n }
      if (x.k !== undefined) out.k = x.k
      return out
    }
    case ResetMsgType.R_STATE: {
      if (!only(x, ['t', 'f', 'q', 'delta', 'm', 'r']) || !isReqId(x.q) || !isObj(x.delta)) return null
      const out: RStateMsg = { t: ResetMsgType.R_STATE, f: x.f, q: x.q, delta: x.delta }
      if (x.m !== undefined) {
        const m = readMarkTuples(x.m)
        if (!m) return null
        out.m = m
      }
      if (x.r !== undefined) {
        const r = readKeys(x.r)
        if (!r) return null
        out.r = r
      }
      return out
    }
    case ResetMsgType.R_MARKS: {
      if (!only(x, ['t', 'f', 'm', 'r', 'q'])) return null
      if (x.q !== undefined && !isReqId(x.q)) return null
      const m = readMarkTuples(x.m)
      if (!m) return null
      const out: RMarksMsg = { t: ResetMsgType.R_MARKS, f: x.f, m }
      if (x.r !== undefined) {
        const r = readKeys(x.r)
        if (!r) return null
        out.r = r
      }
      if (x.q !== undefined) out.q = x.q
      return out
    }
    case ResetMsgType.R_ACK:
      if (!only(x, ['t', 'f', 'q']) || !isReqId(x.q)) return null
      return { t: ResetMsgType.R_ACK, f: x.f, q: x.q }
    default:
      return null
  }
}
