// What the store keeps of deletes and TTLs: mark tuples (replicated state),
// the TTL versions this replica applied (local state), and the answers to
// keyed deletes/TTL changes. One record per logged change; a snapshot holds
// their fold. Reading is tolerant of damage inside a checksummed frame only
// as far as refusing the whole record.

import { isValidName } from '@tally/crdt'
import { isIdempotencyKey } from '@tally/kit'
import { CounterMarks } from './counter-marks.js'
import {
  isTtlTuple,
  MAX_MARK_TUPLES,
  type MarkTuple,
  readMarkTuples,
  type TtlTuple,
  ttlOf,
  ttlTuple,
} from './mark-tuple.js'

/** The operations of the lifecycle routes, as a keyed request names them. */
export type ResetOp = 'delete' | 'expire' | 'persist'

/** The answer to a keyed delete / TTL change, kept so a retry with the key gets it again. */
export interface ResetKeyRecord {
  key: string
  name: string
  op: ResetOp
  /** The TTL asked for (ms) for `expire`, else 0. */
  ttlMs: number
  /** The first answer's JSON body. */
  answer: Record<string, unknown>
  /** When it was first answered (ms since the epoch); retention runs from here. */
  at: number
}

/** One logged change (or a snapshot's fold of them). */
export interface MarksRecord {
  tuples: MarkTuple[]
  /** `[name, ttl]`: this replica applied that TTL version of that counter. */
  applied: Array<[string, TtlTuple]>
  keys: ResetKeyRecord[]
  /**
   * Counters garbage-collected at this point of the log (counter-gc.ts):
   * recovery forgets everything logged of them before it (entries, mark,
   * TTL); what is logged after starts them afresh.
   */
  dropped?: string[]
  /** This replica's floor (docs/crdt.md, "Garbage collection"): recovery keeps the largest. */
  floor?: number
}

/** True for a record with nothing in it. */
export function isEmptyMarks(r: MarksRecord): boolean {
  return (
    r.tuples.length === 0 &&
    r.applied.length === 0 &&
    r.keys.length === 0 &&
    (r.dropped?.length ?? 0) === 0 &&
    (r.floor ?? 0) === 0
  )
}

const OPS: readonly string[] = ['delete', 'expire', 'persist']

/** Reads an untrusted keyed answer (stored or sent by a peer); null when malformed. Pure; never throws. */
export function readResetKey(x: unknown): ResetKeyRecord | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null
  const { key, name, op, ttlMs, answer, at } = x as Record<string, unknown>
  if (!isIdempotencyKey(key) || !isValidName(name) || typeof op !== 'string' || !OPS.includes(op)) return null
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0) return null
  if (typeof at !== 'number' || !Number.isSafeInteger(at)) return null
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return null
  return { key, name, op: op as ResetOp, ttlMs, answer: answer as Record<string, unknown>, at }
}

/**
 * Reads an untrusted stored record `{ t, a, k }`; null when malformed
 * (nothing of it is used then). Pure; never throws.
 */
export function readMarksRecord(x: unknown): MarksRecord | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null
  const { t, a, k, d, f } = x as Record<string, unknown>
  const tuples = readMarkTuples(t ?? [])
  if (!tuples || !Array.isArray(a ?? []) || !Array.isArray(k ?? [])) return null
  if (d !== undefined && (!Array.isArray(d) || d.length > MAX_MARK_TUPLES || !d.every(isValidName)))
    return null
  if (f !== undefined && (typeof f !== 'number' || !Number.isSafeInteger(f) || f < 0)) return null
  const applied: Array<[string, TtlTuple]> = []
  for (const e of (a ?? []) as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || !isValidName(e[0]) || !isTtlTuple(e[1])) return null
    applied.push([e[0], [e[1][0], e[1][1], e[1][2]]])
  }
  const keys: ResetKeyRecord[] = []
  for (const e of (k ?? []) as unknown[]) {
    const r = readResetKey(e)
    if (!r) return null
    keys.push(r)
  }
  const out: MarksRecord = { tuples, applied, keys }
  if (Array.isArray(d) && d.length > 0) out.dropped = [...(d as string[])]
  if (typeof f === 'number' && f > 0) out.floor = f
  return out
}

/** The stored form of a record (short field names; `d`, `f` only when set). */
export function encodeMarksRecord(r: MarksRecord): {
  t: MarkTuple[]
  a: Array<[string, TtlTuple]>
  k: ResetKeyRecord[]
  d?: string[]
  f?: number
} {
  return {
    t: r.tuples,
    a: r.applied,
    k: r.keys,
    ...(r.dropped?.length ? { d: r.dropped } : {}),
    ...(r.floor ? { f: r.floor } : {}),
  }
}

/**
 * Folds logged records in order into one: marks merged, the latest applied
 * version per counter, the first answer per key. What recovery hands back.
 */
export class MarksFold {
  readonly marks = new CounterMarks()
  readonly #keys = new Map<string, ResetKeyRecord>()
  /** Every name some folded record dropped (a snapshot taken before must leave them out). */
  readonly dropped = new Set<string>()
  #floor = 0

  /** Adds one record (checked by {@link readMarksRecord}): a drop forgets what was folded of the name. */
  add(r: MarksRecord): void {
    for (const name of r.dropped ?? []) {
      this.marks.drop(name)
      this.dropped.add(name)
    }
    if ((r.floor ?? 0) > this.#floor) this.#floor = r.floor as number
    this.marks.merge(r.tuples)
    for (const [name, t] of r.applied) this.marks.setApplied(name, ttlOf(t))
    for (const k of r.keys) if (!this.#keys.has(k.key)) this.#keys.set(k.key, k)
  }

  /** The fold as one record, keys answered after `keysAfter` (ms) only (drops are applied, not listed). */
  record(keysAfter = Number.NEGATIVE_INFINITY): MarksRecord {
    const applied = this.marks.appliedAll().map(([name, t]): [string, TtlTuple] => [name, ttlTuple(t)])
    const keys = [...this.#keys.values()].filter((k) => k.at > keysAfter)
    const out: MarksRecord = { tuples: this.marks.tuples(), applied, keys }
    if (this.#floor > 0) out.floor = this.#floor
    return out
  }
}
