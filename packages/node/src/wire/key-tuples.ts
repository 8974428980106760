// Key records on the wire: the 10-tuple that carries one application of an
// Idempotency-Key (on PUSH `k` for plain counters, on B_PUSH `k` for bounded
// ones), and its pure validator. See docs/protocol.md.

import { isValidName, isValidReplicaId } from '@tally/crdt'
import { isIdempotencyKey } from '@tally/kit'
import type { KeyRecord } from '../idempotency/key-ledger.js'

/**
 * One key record on the wire: which operation `(replica, seq)` applied an
 * Idempotency-Key, the request (`op` 0 = increment, 1 = decrement), the value
 * first answered, when (`at`, ms since epoch), on which try, and whether that
 * application was since compensated (1) or not (0).
 */
export type KeyTuple = [
  key: string,
  replica: string,
  seq: number,
  name: string,
  op: 0 | 1,
  amount: number,
  value: number,
  at: number,
  attempt: number,
  compensated: 0 | 1,
]

/** Most key records accepted in one PUSH (senders split bigger sets over several frames). */
export const MAX_KEY_RECORDS = 10_000
/** Highest `Tally-Attempt` / key record attempt. */
export const MAX_ATTEMPT = 100

/** Encodes a key record for the wire. Pure. */
export function toKeyTuple(r: KeyRecord): KeyTuple {
  return [
    r.key,
    r.replica,
    r.seq,
    r.name,
    r.op === 'increment' ? 0 : 1,
    r.amount,
    r.value,
    r.at,
    r.attempt,
    r.compensated === true ? 1 : 0,
  ]
}

/** Decodes a key tuple that {@link readMessage} accepted into a fresh record. Pure. */
export function fromKeyTuple(t: KeyTuple): KeyRecord {
  const [key, replica, seq, name, op, amount, value, at, attempt, compensated] = t
  const r: KeyRecord = {
    key,
    replica,
    seq,
    name,
    op: op === 0 ? 'increment' : 'decrement',
    amount,
    value,
    at,
    attempt,
  }
  if (compensated === 1) r.compensated = true
  return r
}

const isPos = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1

/** True for a well-formed key tuple (every field checked: key rule, replica id, counter name, safe integers). */
export function isKeyTuple(x: unknown): x is KeyTuple {
  if (!Array.isArray(x) || x.length !== 10) return false
  const [key, replica, seq, name, op, amount, value, at, attempt, comp] = x as unknown[]
  return (
    isIdempotencyKey(key) &&
    typeof replica === 'string' &&
    isValidReplicaId(replica) &&
    isPos(seq) &&
    typeof name === 'string' &&
    isValidName(name) &&
    (op === 0 || op === 1) &&
    isPos(amount) &&
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    typeof at === 'number' &&
    Number.isSafeInteger(at) &&
    at >= 0 &&
    isPos(attempt) &&
    attempt <= MAX_ATTEMPT &&
    (comp === 0 || comp === 1)
  )
}
