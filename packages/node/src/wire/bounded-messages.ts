// The gossip messages of bounded counters (see docs/protocol.md, "Bounded
// counters"): their replication (eager push and a digest-driven repair) and
// the on-demand transfer of rights. Pure validators: the states they carry
// are validated again, in full, by @tally/crdt's BoundedCounter before
// anything is merged.

import { isValidName, isValidReplicaId } from '@tally/crdt'
import { isKeyTuple, type KeyTuple, MAX_KEY_RECORDS } from './key-tuples.js'

/** Wire type tags of the bounded-counter messages (part of `MsgType`; numbers are stable). */
export const BoundedMsgType = {
  /**
   * Whole states of some bounded counters; `w`: names whose state the
   * receiver should send back; `k`: key records of keyed writes to them.
   */
  B_PUSH: 20,
  /** Anti-entropy opener: the digest of every bounded counter the sender holds. */
  B_DIGEST: 21,
  /** Answer to a B_DIGEST that differs: the responder's per-counter digests. */
  B_SUMMARY: 22,
  /** "Give me up to `m` rights of counter `n`" (a transfer request), answered by B_GRANT. */
  B_WANT: 23,
  /** Answer to B_WANT `q`: `g` rights granted (0: none), and the granter's durable state of the counter. */
  B_GRANT: 24,
} as const

/** One bounded counter on the wire: its name and whole state `{p, n, r}`. */
export type BoundedEntry = [name: string, state: unknown]

/**
 * B_PUSH: states of bounded counters; `k`: key records (the plain PUSH's
 * 10-tuples, `seq` = `at`) of keyed writes to counters the sender holds.
 */
export interface BPushMsg {
  t: typeof BoundedMsgType.B_PUSH
  f: string
  b: BoundedEntry[]
  w?: string[]
  k?: KeyTuple[]
}

/** B_DIGEST: `d` digest of the sender's bounded counters; `a` its gossip address. */
export interface BDigestMsg {
  t: typeof BoundedMsgType.B_DIGEST
  f: string
  a: string
  d: string
}

/** B_SUMMARY: `s` the responder's [name, digest] pairs (all of its bounded counters, or a part). */
export interface BSummaryMsg {
  t: typeof BoundedMsgType.B_SUMMARY
  f: string
  a: string
  s: Array<[name: string, digest: string]>
}

/**
 * B_WANT: request `q` for `m` rights of counter `n`, to be given to replica
 * `r` (the requester's). `x`: when the requester stops waiting (ms since the
 * epoch, its clock): a request read after that is answered with no rights,
 * so rights never move to a node whose decrements already gave up.
 */
export interface BWantMsg {
  t: typeof BoundedMsgType.B_WANT
  f: string
  a: string
  q: number
  n: string
  m: number
  r: string
  x: number
}

/**
 * B_GRANT: answer to request `q`: `g` rights of counter `n` given; `b` the
 * granter's durable state of it; `k` the key records of `n` the granter
 * knows (a keyed decrement that waited for rights checks them before applying).
 */
export interface BGrantMsg {
  t: typeof BoundedMsgType.B_GRANT
  f: string
  q: number
  n: string
  g: number
  b: unknown
  k?: KeyTuple[]
}

/** Any bounded-counter message. */
export type BoundedMessage = BPushMsg | BDigestMsg | BSummaryMsg | BWantMsg | BGrantMsg

const TAGS: ReadonlySet<unknown> = new Set(Object.values(BoundedMsgType))

/** True when `msg` (a validated message) is a bounded-counter message. Pure. */
export function isBoundedMessage(msg: { t: number }): msg is BoundedMessage {
  return TAGS.has(msg.t)
}

/** Most counters per B_PUSH and per B_SUMMARY (senders split bigger sets over several messages). */
export const MAX_BOUNDED_ENTRIES = 2_000

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/
const ADDR = /^[A-Za-z0-9.:[\]-]{1,300}$/
const DIGEST = /^[0-9a-f]{1,64}$/

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)
const isStr = (x: unknown, re: RegExp): x is string => typeof x === 'string' && re.test(x)
const isName = (x: unknown): x is string => typeof x === 'string' && isValidName(x)
const isCount = (x: unknown, min: number): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= min

function only(x: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k of Object.keys(x)) if (!allowed.includes(k)) return false
  return true
}

function names(x: unknown): boolean {
  return Array.isArray(x) && x.length <= MAX_BOUNDED_ENTRIES && x.every(isName)
}

// Key records (absent, or up to MAX_KEY_RECORDS valid tuples), checked like
// the plain PUSH's: one bad tuple refuses the whole message.
function keyTuples(x: unknown): boolean {
  return x === undefined || (Array.isArray(x) && x.length <= MAX_KEY_RECORDS && x.every(isKeyTuple))
}

/**
 * Turns an untrusted decoded value whose `t` is one of {@link BoundedMsgType}
 * into a typed message, or null for anything of the wrong shape. States are
 * only checked to be objects here. Pure, never throws.
 */
export function readBoundedMessage(x: Record<string, unknown>): BoundedMessage | null {
  switch (x.t) {
    case BoundedMsgType.B_PUSH: {
      if (!only(x, ['t', 'f', 'b', 'w', 'k']) || !isStr(x.f, NODE_ID) || !Array.isArray(x.b)) return null
      if (x.b.length > MAX_BOUNDED_ENTRIES) return null
      for (const e of x.b)
        if (!Array.isArray(e) || e.length !== 2 || !isName(e[0]) || !isObj(e[1])) return null
      if (x.w !== undefined && !names(x.w)) return null
      if (!keyTuples(x.k)) return null
      return x as unknown as BPushMsg
    }
    case BoundedMsgType.B_DIGEST:
      if (!only(x, ['t', 'f', 'a', 'd']) || !isStr(x.f, NODE_ID) || !isStr(x.a, ADDR)) return null
      return isStr(x.d, DIGEST) ? (x as unknown as BDigestMsg) : null
    case BoundedMsgType.B_SUMMARY: {
      if (!only(x, ['t', 'f', 'a', 's']) || !isStr(x.f, NODE_ID) || !isStr(x.a, ADDR)) return null
      if (!Array.isArray(x.s) || x.s.length > MAX_BOUNDED_ENTRIES) return null
      for (const e of x.s)
        if (!Array.isArray(e) || e.length !== 2 || !isName(e[0]) || !isStr(e[1], DIGEST)) return null
      return x as unknown as BSummaryMsg
    }
    case BoundedMsgType.B_WANT:
      if (!only(x, ['t', 'f', 'a', 'q', 'n', 'm', 'r', 'x']) || !isStr(x.f, NODE_ID) || !isStr(x.a, ADDR))
        return null
      if (!isCount(x.q, 0) || !isName(x.n) || !isCount(x.m, 1) || !isCount(x.x, 0)) return null
      return typeof x.r === 'string' && isValidReplicaId(x.r) ? (x as unknown as BWantMsg) : null
    case BoundedMsgType.B_GRANT:
      if (!only(x, ['t', 'f', 'q', 'n', 'g', 'b', 'k']) || !isStr(x.f, NODE_ID)) return null
      if (!isCount(x.q, 0) || !isName(x.n) || !isCount(x.g, 0) || !isObj(x.b)) return null
      if (!keyTuples(x.k)) return null
      return x as unknown as BGrantMsg
    default:
      return null
  }
}
