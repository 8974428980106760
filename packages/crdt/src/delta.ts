import { ErrorCodes, TallyError } from './errors.js'
import { describe, isCount, isPlainObject, isValidName, isValidReplicaId } from './validate.js'

/**
 * One replica's entry of one named counter: that replica's increment total
 * `p`, decrement total `n`, and `seq`, the replica's operation number at the
 * entry's last change. All three only grow.
 */
export type EntryTuple = [name: string, replica: string, p: number, n: number, seq: number]

/**
 * A claim that the delta carries *every* entry of `replica` whose seq is in
 * (from, to]. A receiver that already knows everything of `replica` up to
 * `from` may then advance its version summary to `to`.
 */
export type RangeTuple = [replica: string, from: number, to: number]

/**
 * Version summary: for each replica, the seq up to which this holder has
 * every change of that replica. The sender's half of "what do you lack".
 */
export type Summary = Record<string, number>

/** A set of entries plus the ranges they completely cover. Plain, msgpack/JSON-safe. */
export interface Delta {
  ranges: RangeTuple[]
  entries: EntryTuple[]
}

/** Serialised CounterMap: version summary plus `counters[name][replica] = [p, n, seq]`. */
export interface CounterMapState {
  vv: Summary
  counters: Record<string, Record<string, [p: number, n: number, seq: number]>>
}

function bad(code: typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID, msg: string): never {
  throw new TallyError(code, msg)
}

/** Checks an untrusted summary. Throws TALLY_DELTA_INVALID. */
export function readSummary(
  x: unknown,
  code: typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID = ErrorCodes.DELTA_INVALID,
): Map<string, number> {
  if (!isPlainObject(x)) bad(code, `version summary must be an object, got ${describe(x)}`)
  const out = new Map<string, number>()
  for (const r of Object.keys(x)) {
    if (!isValidReplicaId(r)) bad(code, `version summary has an invalid replica id ${describe(r)}`)
    const v = x[r]
    if (!isCount(v))
      bad(code, `version summary[${describe(r)}] must be a non-negative safe integer, got ${describe(v)}`)
    if (v > 0) out.set(r, v)
  }
  return out
}

/** Checks an untrusted delta in full. Throws TALLY_DELTA_INVALID; returns it typed. */
export function readDelta(x: unknown): Delta {
  if (!isPlainObject(x)) bad(ErrorCodes.DELTA_INVALID, `delta must be an object, got ${describe(x)}`)
  const { ranges, entries } = x
  if (!Array.isArray(ranges)) bad(ErrorCodes.DELTA_INVALID, 'delta.ranges must be an array')
  if (!Array.isArray(entries)) bad(ErrorCodes.DELTA_INVALID, 'delta.entries must be an array')
  for (let i = 0; i < ranges.length; i++) {
    const t: unknown = ranges[i]
    if (
      !Array.isArray(t) ||
      t.length !== 3 ||
      !isValidReplicaId(t[0]) ||
      !isCount(t[1]) ||
      !isCount(t[2]) ||
      t[1] > t[2]
    ) {
      bad(ErrorCodes.DELTA_INVALID, `delta.ranges[${i}] must be [replica, from, to] with 0 <= from <= to`)
    }
  }
  for (let i = 0; i < entries.length; i++) {
    checkEntry(entries[i], `delta.entries[${i}]`, ErrorCodes.DELTA_INVALID)
  }
  return x as unknown as Delta
}

/** Checks one untrusted entry tuple. */
export function checkEntry(
  t: unknown,
  where: string,
  code: typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID,
): asserts t is EntryTuple {
  if (!Array.isArray(t) || t.length !== 5) bad(code, `${where} must be [name, replica, p, n, seq]`)
  if (!isValidName(t[0])) bad(code, `${where} has an invalid counter name ${describe(t[0])}`)
  if (!isValidReplicaId(t[1])) bad(code, `${where} has an invalid replica id ${describe(t[1])}`)
  if (!isCount(t[2]) || !isCount(t[3]) || !isCount(t[4])) {
    bad(code, `${where}: p, n and seq must be non-negative safe integers`)
  }
}

/** Converts an untrusted full state to a delta covering it (ranges [r, 0, vv[r]]). Throws TALLY_STATE_INVALID. */
export function stateToDelta(x: unknown): Delta {
  const code = ErrorCodes.STATE_INVALID
  if (!isPlainObject(x)) bad(code, `state must be an object, got ${describe(x)}`)
  const vv = readSummary(x.vv ?? {}, code)
  const counters = x.counters ?? {}
  if (!isPlainObject(counters)) bad(code, 'state.counters must be an object')
  const entries: EntryTuple[] = []
  for (const name of Object.keys(counters)) {
    const byReplica = counters[name]
    if (!isPlainObject(byReplica)) bad(code, `state.counters[${describe(name)}] must be an object`)
    for (const r of Object.keys(byReplica)) {
      const v = byReplica[r]
      if (!Array.isArray(v) || v.length !== 3)
        bad(code, `state.counters[${describe(name)}][${describe(r)}] must be [p, n, seq]`)
      const t: unknown = [name, r, v[0], v[1], v[2]]
      checkEntry(t, `state.counters[${describe(name)}][${describe(r)}]`, code)
      entries.push(t)
    }
  }
  const ranges: RangeTuple[] = []
  for (const [r, to] of vv) ranges.push([r, 0, to])
  return { ranges, entries }
}
