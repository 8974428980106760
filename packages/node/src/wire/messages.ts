// Every gossip message type, in one place, with the pure validator that turns
// an untrusted decoded value into a typed message (or refuses it). The CRDT
// payloads (deltas, summaries) are validated again, in full, by @tally/crdt
// before anything is applied. See docs/protocol.md.

import { isValidName } from '@tally/crdt'
import { COVERED_KEY } from '../resets/gc-rule.js'
import { MAX_MARK_TUPLES, type MarkTuple, readMarkTuples } from '../resets/mark-tuple.js'
import { type BoundedMessage, BoundedMsgType, readBoundedMessage } from './bounded-messages.js'
import { isKeyTuple, type KeyTuple, MAX_KEY_RECORDS } from './key-tuples.js'
import { type LimitsMsg, readLimitsMsg } from './limit-messages.js'
import { type ResetMessage, ResetMsgType, readResetMessage } from './reset-messages.js'

export {
  fromKeyTuple,
  isKeyTuple,
  type KeyTuple,
  MAX_ATTEMPT,
  MAX_KEY_RECORDS,
  toKeyTuple,
} from './key-tuples.js'

/** Wire message type tags. Numbers are stable: never reuse one. */
export const MsgType = {
  /** Anti-entropy round opener: "here is my digest". */
  PULL: 1,
  /** Answer to PULL: in sync, or my version summary. */
  ACK: 2,
  /** A delta (eager push, forward, or anti-entropy repair), optionally asking for one back or for an ack. */
  PUSH: 3,
  /** Confirms that a PUSH carrying `q` is durably applied (quorum writes). */
  PUSH_ACK: 4,
  /** The sender's member list. */
  MEMBERS: 5,
  /** The sender is shutting down cleanly. */
  LEAVE: 6,
  /** Rate-limit window buckets, or their digest (wire/limit-messages.ts). */
  LIMITS: 7,
  /** Bounded counters (20–29): see bounded-messages.ts. */
  ...BoundedMsgType,
  /** Reset marks and TTLs: a digest to compare, or tuples to merge (docs/protocol.md). */
  MARKS: 8,
  /** Consistent deletes and TTL changes (9–12): see reset-messages.ts. */
  ...ResetMsgType,
} as const

/** Sender identity carried by PULL and ACK so a receiver can learn/refresh it. */
export interface Origin {
  /** Sender node id. */
  f: string
  /** Sender's advertised gossip address host:port. */
  a: string
  /** Sender's HTTP base URL, if it has one. */
  h?: string
}

/** PULL: `d` digest of the sender's state, `md` digest of its member list. */
export interface PullMsg extends Origin {
  t: typeof MsgType.PULL
  d: string
  md: string
}

/** ACK: `s` present iff the digests differ (the responder's version summary). */
export interface AckMsg extends Origin {
  t: typeof MsgType.ACK
  /** Responder's state digest (optional: informational only). */
  d?: string
  md: string
  s?: Record<string, number>
}

/**
 * PUSH: a delta. `s`: "send me what I lack against this summary". `q`:
 * request id to ack once durable, with `a` the address to send the ack to.
 * `k`: the key records of operations the delta carries (keyed writes).
 */
export interface PushMsg {
  t: typeof MsgType.PUSH
  f: string
  a?: string
  delta: unknown
  s?: Record<string, number>
  q?: number
  k?: KeyTuple[]
}

/** PUSH_ACK for request `q`. */
export interface PushAckMsg {
  t: typeof MsgType.PUSH_ACK
  f: string
  q: number
}

/** One member as gossiped: [id, gossip addr, http url or ''] */
export type MemberTuple = [id: string, addr: string, http: string]

/** MEMBERS: the sender's known members (itself included). */
export interface MembersMsg {
  t: typeof MsgType.MEMBERS
  f: string
  m: MemberTuple[]
}

/** LEAVE: the sender stops now. */
export interface LeaveMsg {
  t: typeof MsgType.LEAVE
  f: string
}

/**
 * MARKS: reset marks and TTLs. `d`: the sender's marks digest (a probe: "send
 * me yours if they differ"); `m`: tuples to merge; `s` 1: "send me all of
 * yours back" (on the last message of a full set).
 */
export interface MarksMsg {
  t: typeof MsgType.MARKS
  f: string
  d?: string
  m?: MarkTuple[]
  s?: 1
  /** Garbage collection: counters the sender asks the receiver to confirm (resets/counter-gc.ts). */
  g?: string[]
  /** Garbage collection: confirmations, `[name, covered key]` (resets/gc-rule.ts). */
  k?: Array<[string, string]>
}

export type { LimitsMsg } from './limit-messages.js'

export type Message =
  | PullMsg
  | AckMsg
  | PushMsg
  | PushAckMsg
  | MembersMsg
  | LeaveMsg
  | LimitsMsg
  | BoundedMessage
  | MarksMsg
  | ResetMessage

/** Most members accepted in one MEMBERS message. */
export const MAX_MEMBERS = 4096

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/
const ADDR = /^[A-Za-z0-9.:[\]-]{1,300}$/
const DIGEST = /^\d{1,12}:[0-9a-f]{16}$/

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)
const isStr = (x: unknown, re: RegExp): x is string => typeof x === 'string' && re.test(x)
const isHttp = (x: unknown): x is string =>
  typeof x === 'string' && x.length <= 300 && /^https?:\/\/\S+$/.test(x)
const isReqId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

function only(x: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k of Object.keys(x)) if (!allowed.includes(k)) return false
  return true
}

/** True for a plausible node id (the same rule as `--id`). */
export function isNodeId(x: unknown): x is string {
  return isStr(x, NODE_ID)
}

// Summaries are checked in full by @tally/crdt; here only the container type.
const isSummaryShape = (x: unknown): x is Record<string, number> => isObj(x)

function origin(x: Record<string, unknown>): boolean {
  return isStr(x.f, NODE_ID) && isStr(x.a, ADDR) && (x.h === undefined || isHttp(x.h))
}

/**
 * Turns an untrusted decoded value into a typed message; returns null for
 * anything of the wrong shape (unknown type, missing or extra field, wrong
 * types). Pure, never throws.
 */
export function readMessage(x: unknown): Message | null {
  if (!isObj(x)) return null
  switch (x.t) {
    case MsgType.PULL:
      if (!only(x, ['t', 'f', 'a', 'h', 'd', 'md']) || !origin(x)) return null
      if (!isStr(x.d, DIGEST) || typeof x.md !== 'string' || x.md.length > 64) return null
      return x as unknown as PullMsg
    case MsgType.ACK:
      if (!only(x, ['t', 'f', 'a', 'h', 'd', 'md', 's']) || !origin(x)) return null
      if ((x.d !== undefined && !isStr(x.d, DIGEST)) || typeof x.md !== 'string' || x.md.length > 64)
        return null
      if (x.s !== undefined && !isSummaryShape(x.s)) return null
      return x as unknown as AckMsg
    case MsgType.PUSH:
      if (!only(x, ['t', 'f', 'a', 'delta', 's', 'q', 'k']) || !isStr(x.f, NODE_ID) || !isObj(x.delta))
        return null
      if (x.a !== undefined && !isStr(x.a, ADDR)) return null
      if (x.s !== undefined && !isSummaryShape(x.s)) return null
      if (x.q !== undefined && !isReqId(x.q)) return null
      if (x.k !== undefined) {
        if (!Array.isArray(x.k) || x.k.length > MAX_KEY_RECORDS) return null
        for (const t of x.k) if (!isKeyTuple(t)) return null
      }
      return x as unknown as PushMsg
    case MsgType.PUSH_ACK:
      if (!only(x, ['t', 'f', 'q']) || !isStr(x.f, NODE_ID) || !isReqId(x.q)) return null
      return x as unknown as PushAckMsg
    case MsgType.MEMBERS: {
      if (!only(x, ['t', 'f', 'm']) || !isStr(x.f, NODE_ID) || !Array.isArray(x.m)) return null
      if (x.m.length > MAX_MEMBERS) return null
      for (const m of x.m) {
        if (!Array.isArray(m) || m.length !== 3) return null
        if (!isStr(m[0], NODE_ID) || !isStr(m[1], ADDR) || !(m[2] === '' || isHttp(m[2]))) return null
      }
      return x as unknown as MembersMsg
    }
    case MsgType.LEAVE:
      if (!only(x, ['t', 'f']) || !isStr(x.f, NODE_ID)) return null
      return x as unknown as LeaveMsg
    case MsgType.LIMITS:
      return readLimitsMsg(x)
    case MsgType.MARKS: {
      if (!only(x, ['t', 'f', 'd', 'm', 's', 'g', 'k']) || !isStr(x.f, NODE_ID)) return null
      if (x.d !== undefined && !isStr(x.d, DIGEST)) return null
      if (x.s !== undefined && x.s !== 1) return null
      const g = x.g === undefined ? undefined : readGcNames(x.g)
      const k = x.k === undefined ? undefined : readGcAcks(x.k)
      if (g === null || k === null) return null
      const out: MarksMsg = { t: MsgType.MARKS, f: x.f }
      if (g) out.g = g
      if (k) out.k = k
      if (x.d !== undefined) out.d = x.d as string
      if (x.m !== undefined) {
        const m = readMarkTuples(x.m)
        if (!m) return null
        out.m = m
      }
      if (x.s === 1) out.s = 1
      return out
    }
    case ResetMsgType.R_PULL:
    case ResetMsgType.R_STATE:
    case ResetMsgType.R_MARKS:
    case ResetMsgType.R_ACK:
      return readResetMessage(x)
    default:
      return readBoundedMessage(x)
  }
}

/** An untrusted MARKS `g` list (valid counter names, at most MAX_MARK_TUPLES), or null. */
function readGcNames(x: unknown): string[] | null {
  if (!Array.isArray(x) || x.length > MAX_MARK_TUPLES || !x.every(isValidName)) return null
  return [...(x as string[])]
}

/** An untrusted MARKS `k` list (`[name, covered key]`, at most MAX_MARK_TUPLES), or null. */
function readGcAcks(x: unknown): Array<[string, string]> | null {
  if (!Array.isArray(x) || x.length > MAX_MARK_TUPLES) return null
  const out: Array<[string, string]> = []
  for (const a of x) {
    if (!Array.isArray(a) || a.length !== 2 || !isValidName(a[0]) || !isStr(a[1], COVERED_KEY)) return null
    out.push([a[0], a[1]])
  }
  return out
}
