import { ErrorCodes, TallyError } from './errors.js'
import {
  describe,
  guard,
  isCount,
  isPlainObject,
  isValidName,
  isValidReplicaId,
  unknownKey,
} from './validate.js'

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

type ReadCode = typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID

function bad(code: ReadCode, msg: string): never {
  throw new TallyError(code, msg)
}

function noExtra(x: Record<string, unknown>, allowed: readonly string[], what: string, code: ReadCode): void {
  const k = unknownKey(x, allowed)
  if (k !== undefined) bad(code, `${what} has an unknown field ${describe(k)}`)
}

/**
 * Checks an untrusted version summary (`{ [replica]: seq }`) and copies it
 * into a Map (zero entries dropped). Throws TALLY_DELTA_INVALID (or `code`),
 * whatever the input does; never returns partial data.
 */
export function readSummary(x: unknown, code: ReadCode = ErrorCodes.DELTA_INVALID): Map<string, number> {
  return guard(code, 'version summary', () => {
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
  })
}

/**
 * Checks an untrusted delta in full and returns a fresh, typed copy (every
 * field read exactly once, so getters and proxies cannot change it between
 * the check and the use). Exactly the fields `ranges` and `entries`; extra
 * fields are refused. Throws TALLY_DELTA_INVALID whatever the input does.
 */
export function readDelta(x: unknown): Delta {
  const code = ErrorCodes.DELTA_INVALID
  return guard(code, 'delta', () => {
    if (!isPlainObject(x)) bad(code, `delta must be an object, got ${describe(x)}`)
    noExtra(x, ['ranges', 'entries'], 'delta', code)
    const ranges: unknown = x.ranges
    const entries: unknown = x.entries
    if (!Array.isArray(ranges)) bad(code, 'delta.ranges must be an array')
    if (!Array.isArray(entries)) bad(code, 'delta.entries must be an array')
    const out: Delta = { ranges: [], entries: [] }
    const ids = new Set<string>()
    const nr = ranges.length
    for (let i = 0; i < nr; i++) out.ranges.push(readRange(ranges[i], `delta.ranges[${i}]`))
    const ne = entries.length
    for (let i = 0; i < ne; i++) {
      const t: unknown = entries[i]
      if (!Array.isArray(t) || t.length !== 5)
        bad(code, `delta.entries[${i}] must be [name, replica, p, n, seq]`)
      out.entries.push(readEntry(t[0], t[1], t[2], t[3], t[4], () => `delta.entries[${i}]`, code, ids))
    }
    return out
  })
}

function readRange(t: unknown, where: string): RangeTuple {
  if (!Array.isArray(t) || t.length !== 3)
    bad(ErrorCodes.DELTA_INVALID, `${where} must be [replica, from, to]`)
  const r: unknown = t[0]
  const from: unknown = t[1]
  const to: unknown = t[2]
  if (!isValidReplicaId(r) || !isCount(from) || !isCount(to) || from > to) {
    bad(ErrorCodes.DELTA_INVALID, `${where} must be [replica, from, to] with 0 <= from <= to`)
  }
  return [r, from + 0, to + 0]
}

/**
 * Checks one untrusted entry given field by field and returns it as a fresh
 * tuple (negative zero normalised). A non-zero entry must carry seq >= 1:
 * seq 0 means "before the replica's first operation" and such an entry could
 * never be found by `deltaSince`.
 */
export function readEntry(
  name: unknown,
  replica: unknown,
  p: unknown,
  n: unknown,
  seq: unknown,
  where: () => string,
  code: ReadCode,
  validIds?: Set<string>,
): EntryTuple {
  if (!isValidName(name)) bad(code, `${where()} has an invalid counter name ${describe(name)}`)
  // The same few replica ids repeat in every entry: check each once per read.
  const known = validIds?.has(replica as string) === true
  if (!known && !isValidReplicaId(replica))
    bad(code, `${where()} has an invalid replica id ${describe(replica)}`)
  const id = replica as string
  if (!known) validIds?.add(id)
  if (!isCount(p) || !isCount(n) || !isCount(seq)) {
    bad(code, `${where()}: p, n and seq must be non-negative safe integers`)
  }
  if (seq === 0 && (p > 0 || n > 0)) bad(code, `${where()}: a non-zero entry must have seq >= 1`)
  // `+ 0` turns -0 into 0, so no negative zero is ever stored or re-sent.
  return [name, id, p + 0, n + 0, seq + 0]
}

/**
 * Converts an untrusted full state (`{ vv?, counters? }`, nothing else) to a
 * delta covering it (ranges `[r, 0, vv[r]]`). Throws TALLY_STATE_INVALID
 * whatever the input does.
 */
export function stateToDelta(x: unknown): Delta {
  const code = ErrorCodes.STATE_INVALID
  return guard(code, 'state', () => {
    if (!isPlainObject(x)) bad(code, `state must be an object, got ${describe(x)}`)
    noExtra(x, ['vv', 'counters'], 'state', code)
    const rawVv: unknown = x.vv
    const vv = readSummary(rawVv === undefined ? {} : rawVv, code)
    const rawCounters: unknown = x.counters
    const counters = rawCounters === undefined ? {} : rawCounters
    if (!isPlainObject(counters)) bad(code, `state.counters must be an object, got ${describe(counters)}`)
    const entries: EntryTuple[] = []
    const ids = new Set<string>()
    for (const name of Object.keys(counters)) {
      const byReplica: unknown = counters[name]
      const where = () => `state.counters[${describe(name)}]`
      if (!isPlainObject(byReplica)) bad(code, `${where()} must be an object, got ${describe(byReplica)}`)
      for (const r of Object.keys(byReplica)) {
        const v: unknown = byReplica[r]
        const at = () => `${where()}[${describe(r)}]`
        if (!Array.isArray(v) || v.length !== 3) bad(code, `${at()} must be [p, n, seq]`)
        entries.push(readEntry(name, r, v[0], v[1], v[2], at, code, ids))
      }
    }
    const ranges: RangeTuple[] = []
    for (const [r, to] of vv) ranges.push([r, 0, to])
    return { ranges, entries }
  })
}
