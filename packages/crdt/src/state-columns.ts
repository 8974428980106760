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
 * A slice of a CounterMap's state in columnar form, for snapshots and bulk
 * loads: no object per counter or per entry. `rows` holds five numbers per
 * entry, `[name index, replica index, p, n, seq]`, the indexes pointing into
 * `names` and `replicas`. Plain, msgpack/JSON-safe, and several times
 * cheaper to encode, decode and merge than the object form of `state()`.
 */
export interface StateColumns {
  names: string[]
  replicas: string[]
  rows: number[]
}

/** Numbers per entry in {@link StateColumns.rows}. */
export const ROW = 5

function bad(msg: string): never {
  throw new TallyError(ErrorCodes.STATE_INVALID, msg)
}

/**
 * Checks untrusted columns in full and returns them (the arrays are copied,
 * each element read once). Exactly the fields `names`, `replicas`, `rows`;
 * names and replica ids valid; rows whole, indexes in range, p, n and seq
 * non-negative safe integers, seq ≥ 1 on a non-zero entry. Throws
 * TALLY_STATE_INVALID whatever the input does.
 */
export function readColumns(x: unknown): StateColumns {
  return guard(ErrorCodes.STATE_INVALID, 'state columns', () => {
    if (!isPlainObject(x)) bad(`state columns must be an object, got ${describe(x)}`)
    const extra = unknownKey(x, ['names', 'replicas', 'rows'])
    if (extra !== undefined) bad(`state columns have an unknown field ${describe(extra)}`)
    const rawNames: unknown = x.names
    const rawReplicas: unknown = x.replicas
    const rawRows: unknown = x.rows
    if (!Array.isArray(rawNames) || !Array.isArray(rawReplicas) || !Array.isArray(rawRows))
      bad('state columns need names, replicas and rows arrays')
    const names: string[] = []
    for (let i = 0; i < rawNames.length; i++) {
      const v: unknown = rawNames[i]
      if (!isValidName(v)) bad(`state columns: names[${i}] is an invalid counter name ${describe(v)}`)
      names.push(v)
    }
    const replicas: string[] = []
    for (let i = 0; i < rawReplicas.length; i++) {
      const v: unknown = rawReplicas[i]
      if (!isValidReplicaId(v)) bad(`state columns: replicas[${i}] is an invalid replica id ${describe(v)}`)
      replicas.push(v)
    }
    const len = rawRows.length
    if (len % ROW !== 0) bad(`state columns: rows must hold ${ROW} numbers an entry`)
    const rows: number[] = new Array(len)
    for (let i = 0; i < len; i += ROW) {
      const c: unknown = rawRows[i]
      const r: unknown = rawRows[i + 1]
      const p: unknown = rawRows[i + 2]
      const n: unknown = rawRows[i + 3]
      const s: unknown = rawRows[i + 4]
      if (!isCount(c) || c >= names.length || !isCount(r) || r >= replicas.length)
        bad(`state columns: entry ${i / ROW} has an index out of range`)
      if (!isCount(p) || !isCount(n) || !isCount(s))
        bad(`state columns: entry ${i / ROW}: p, n and seq must be non-negative safe integers`)
      if (s === 0 && (p > 0 || n > 0))
        bad(`state columns: entry ${i / ROW}: a non-zero entry must have seq >= 1`)
      rows[i] = c
      rows[i + 1] = r
      // `+ 0` turns -0 into 0.
      rows[i + 2] = p + 0
      rows[i + 3] = n + 0
      rows[i + 4] = s + 0
    }
    return { names, replicas, rows }
  })
}
