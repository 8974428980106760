import { ErrorCodes, TallyError } from './errors.js'
import type { Hash64 } from './hash.js'
import type { StateColumns } from './state-columns.js'
import { describe, guard, isValidReplicaId, MAX_NAME_LENGTH } from './validate.js'

/**
 * A slice of a CounterMap's state as typed arrays: what a snapshot stores so
 * that a restart reads a million counters without making a string, an array
 * or a number object per counter or entry (compare {@link StateColumns}, the
 * plain form). Counters are listed in order; each has `entryCounts[i]`
 * entries, which follow one another in `entryReplicas` and `values`.
 */
export interface PackedColumns {
  /** Every counter name's bytes, one name after another (a valid name is one byte a character). */
  nameBytes: Uint8Array
  /** Byte length of each name (1–128), one per counter. */
  nameLengths: Uint8Array
  /** Number of entries of each counter, one per counter. */
  entryCounts: Uint32Array
  /** Replica ids the entries refer to (by index). */
  replicas: string[]
  /** Replica index of each entry, into `replicas`. */
  entryReplicas: Uint32Array
  /** p, n and seq of each entry: three numbers an entry. */
  values: Float64Array
  /**
   * Optional: the digest contribution of these entries, i.e. the lane-wise
   * sum (mod 2^32) of the hash of every non-zero entry, as
   * `CounterMap.packedColumns` computes it. `CounterMap.mergePacked` trusts
   * it in place of hashing each entry it adds: only columns this code wrote
   * (e.g. read back from a checksummed snapshot) may carry it; a wrong sum
   * makes `digest()` wrong, never a value.
   */
  hashSum?: Hash64
}

function bad(msg: string): never {
  throw new TallyError(ErrorCodes.STATE_INVALID, msg)
}

// `__proto__` as bytes: the one reserved name (see validate.ts).
const RESERVED = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]

function isReserved(bytes: Uint8Array, o: number, len: number): boolean {
  if (len !== RESERVED.length) return false
  for (let i = 0; i < len; i++) if (bytes[o + i] !== RESERVED[i]) return false
  return true
}

function isLane(x: unknown): boolean {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff
}

function isCount(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0
}

/**
 * Checks untrusted packed columns in full and returns them (the same typed
 * arrays, a -0 in `values` set to 0 in place: the caller must not change
 * them while they are in use). Exactly
 * the fields of {@link PackedColumns}, each of its type; names valid (1–128
 * bytes of 0x21–0x7E, not `__proto__`) and their lengths adding up to
 * `nameBytes`; entry counts adding up to the entries; replica ids valid and
 * indexes in range; p, n and seq non-negative safe integers, seq ≥ 1 on a
 * non-zero entry; `hashSum`, when present, two unsigned 32-bit lanes (its
 * value is trusted, see {@link PackedColumns}). Throws TALLY_STATE_INVALID
 * whatever the input does. O(size).
 */
export function readPacked(x: unknown): PackedColumns {
  return guard(ErrorCodes.STATE_INVALID, 'packed columns', () => {
    if (typeof x !== 'object' || x === null) bad(`packed columns must be an object, got ${describe(x)}`)
    const o = x as Record<string, unknown>
    const { nameBytes, nameLengths, entryCounts, replicas, entryReplicas, values } = o
    if (!(nameBytes instanceof Uint8Array) || !(nameLengths instanceof Uint8Array))
      bad('packed columns: nameBytes and nameLengths must be Uint8Arrays')
    if (!(entryCounts instanceof Uint32Array) || !(entryReplicas instanceof Uint32Array))
      bad('packed columns: entryCounts and entryReplicas must be Uint32Arrays')
    if (!(values instanceof Float64Array)) bad('packed columns: values must be a Float64Array')
    if (!Array.isArray(replicas)) bad('packed columns: replicas must be an array')
    if (entryCounts.length !== nameLengths.length) bad('packed columns: one entry count per name is needed')
    const ids: string[] = []
    for (let i = 0; i < replicas.length; i++) {
      const v: unknown = replicas[i]
      if (!isValidReplicaId(v)) bad(`packed columns: replicas[${i}] is an invalid replica id ${describe(v)}`)
      ids.push(v)
    }
    let at = 0
    let entries = 0
    for (let i = 0; i < nameLengths.length; i++) {
      const len = nameLengths[i] as number
      if (len < 1 || len > MAX_NAME_LENGTH || at + len > nameBytes.length)
        bad(`packed columns: name ${i} has a bad length ${len}`)
      for (let j = at; j < at + len; j++) {
        const b = nameBytes[j] as number
        if (b < 0x21 || b > 0x7e) bad(`packed columns: name ${i} holds a byte outside 0x21-0x7e`)
      }
      if (isReserved(nameBytes, at, len)) bad(`packed columns: name ${i} is the reserved __proto__`)
      at += len
      entries += entryCounts[i] as number
    }
    if (at !== nameBytes.length) bad('packed columns: nameBytes is longer than the names')
    if (entries !== entryReplicas.length) bad('packed columns: entry counts do not add up to the entries')
    if (values.length !== entries * 3) bad('packed columns: values must hold 3 numbers an entry')
    for (let e = 0; e < entries; e++) {
      if ((entryReplicas[e] as number) >= ids.length)
        bad(`packed columns: entry ${e} has a replica out of range`)
      const p = values[e * 3] as number
      const n = values[e * 3 + 1] as number
      const s = values[e * 3 + 2] as number
      if (!isCount(p) || !isCount(n) || !isCount(s))
        bad(`packed columns: entry ${e}: p, n and seq must be non-negative safe integers`)
      if (s === 0 && (p > 0 || n > 0)) bad(`packed columns: entry ${e}: a non-zero entry must have seq >= 1`)
      // -0 would hash and compare like 0 but is not the same float: store 0.
      if (Object.is(p, -0)) values[e * 3] = 0
      if (Object.is(n, -0)) values[e * 3 + 1] = 0
      if (Object.is(s, -0)) values[e * 3 + 2] = 0
    }
    const { hashSum } = o
    if (hashSum === undefined)
      return { nameBytes, nameLengths, entryCounts, replicas: ids, entryReplicas, values }
    const h = hashSum as Partial<Hash64> | null
    if (typeof h !== 'object' || h === null || !isLane(h.h1) || !isLane(h.h2))
      bad('packed columns: hashSum must be {h1, h2}, two unsigned 32-bit integers')
    const sum = { h1: h.h1 as number, h2: h.h2 as number }
    return { nameBytes, nameLengths, entryCounts, replicas: ids, entryReplicas, values, hashSum: sum }
  })
}

/**
 * Packs plain columns (their names must be valid counter names, e.g. from
 * `CounterMap.stateColumns`): the entries of each counter together, in the
 * order of their rows. Throws TALLY_STATE_INVALID for anything
 * {@link readPacked} would refuse. O(size).
 */
export function packColumns(columns: StateColumns): PackedColumns {
  const { names, replicas, rows } = columns
  if (rows.length % 5 !== 0) bad('state columns: rows must hold 5 numbers an entry')
  // Rows grouped by counter index, keeping their order.
  const counts = new Uint32Array(names.length)
  for (let i = 0; i < rows.length; i += 5) {
    const c = rows[i] as number
    if (!(c >= 0 && c < names.length)) bad(`state columns: entry ${i / 5} has an index out of range`)
    counts[c] = (counts[c] as number) + 1
  }
  const start = new Uint32Array(names.length)
  for (let c = 1; c < names.length; c++) start[c] = (start[c - 1] as number) + (counts[c - 1] as number)
  const entries = rows.length / 5
  const entryReplicas = new Uint32Array(entries)
  const values = new Float64Array(entries * 3)
  for (let i = 0; i < rows.length; i += 5) {
    const c = rows[i] as number
    const e = start[c] as number
    start[c] = e + 1
    entryReplicas[e] = rows[i + 1] as number
    values[e * 3] = rows[i + 2] as number
    values[e * 3 + 1] = rows[i + 3] as number
    values[e * 3 + 2] = rows[i + 4] as number
  }
  let bytes = 0
  for (const name of names) bytes += name.length
  const nameBytes = new Uint8Array(bytes)
  const nameLengths = new Uint8Array(names.length)
  let at = 0
  for (let c = 0; c < names.length; c++) {
    const name = names[c] as string
    if (name.length < 1 || name.length > MAX_NAME_LENGTH) bad(`state columns: names[${c}] has a bad length`)
    nameLengths[c] = name.length
    for (let j = 0; j < name.length; j++) {
      const ch = name.charCodeAt(j)
      if (ch < 0x21 || ch > 0x7e) bad(`state columns: names[${c}] is an invalid counter name`)
      nameBytes[at++] = ch
    }
  }
  return readPacked({
    nameBytes,
    nameLengths,
    entryCounts: counts,
    replicas: [...replicas],
    entryReplicas,
    values,
  })
}
