// The counters of a format-3 snapshot chunk: PackedColumns (see @tally/crdt)
// as msgpack binary fields, numbers little-endian, so a restart reads a
// slice of counters as a few byte copies instead of a string and an array
// per counter (format 2 stored the plain columns: names as msgpack strings,
// rows as a msgpack array of numbers).
//
//   { b: name bytes, l: name lengths (1 byte each), k: entries per counter
//     (uint32 LE), r: [replica ids], e: replica index per entry (uint32 LE),
//     v: p, n, seq per entry (float64 LE), h: [h1, h2] the chunk's digest
//     contribution (PackedColumns.hashSum; optional: chunks written before
//     it have none, and a reader that knows it not ignores it) }
//
// `h` spares a restart one hash an entry: the map trusts it under the
// chunk's checksum (a chunk this code wrote), see CounterMap.mergePacked.

import type { PackedColumns } from '@tally/crdt'

/** The stored form of packed columns: msgpack binaries and the replica ids. */
export interface PackedRecord {
  b: Uint8Array
  l: Uint8Array
  k: Uint8Array
  r: string[]
  e: Uint8Array
  v: Uint8Array
  h?: [number, number]
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The bytes of `a`, little-endian (a view of it on a little-endian machine). */
function leBytes(a: Uint32Array | Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const out = new Uint8Array(a.byteLength)
  const view = new DataView(out.buffer)
  if (a instanceof Uint32Array) for (let i = 0; i < a.length; i++) view.setUint32(i * 4, a[i] as number, true)
  else for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i] as number, true)
  return out
}

/** Uint32s from little-endian bytes (copied: msgpack hands out unaligned views), or null when the length is not whole. */
function u32s(bytes: Uint8Array): Uint32Array | null {
  if (bytes.byteLength % 4 !== 0) return null
  const out = new Uint32Array(bytes.byteLength / 4)
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true)
  }
  return out
}

/** Float64s from little-endian bytes (copied), or null when the length is not whole. */
function f64s(bytes: Uint8Array): Float64Array | null {
  if (bytes.byteLength % 8 !== 0) return null
  const out = new Float64Array(bytes.byteLength / 8)
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true)
  }
  return out
}

/** The stored form of `c` (views of its arrays on a little-endian machine: encode it before they change). Pure. */
export function packedRecord(c: PackedColumns): PackedRecord {
  return {
    b: c.nameBytes,
    l: c.nameLengths,
    k: leBytes(c.entryCounts),
    r: c.replicas,
    e: leBytes(c.entryReplicas),
    v: leBytes(c.values),
    ...(c.hashSum ? { h: [c.hashSum.h1, c.hashSum.h2] } : {}),
  }
}

/**
 * Packed columns from their decoded stored form, or why they are unusable.
 * Only the shape is checked here; the contents are checked when merged
 * (`CounterMap.mergePacked`). Never throws.
 */
export function readPackedRecord(x: unknown): PackedColumns | { reason: string } {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    return { reason: 'packed columns must be a map' }
  const { b, l, k, r, e, v, h } = x as Record<string, unknown>
  if (![b, l, k, e, v].every((f) => f instanceof Uint8Array) || !Array.isArray(r))
    return { reason: 'packed columns need binary fields b, l, k, e, v and a replica list r' }
  const entryCounts = u32s(k as Uint8Array)
  const entryReplicas = u32s(e as Uint8Array)
  const values = f64s(v as Uint8Array)
  if (!entryCounts || !entryReplicas || !values) return { reason: 'packed columns have a partial number' }
  if (h !== undefined && !(Array.isArray(h) && h.length === 2))
    return { reason: 'packed columns have a malformed digest sum' }
  return {
    nameBytes: b as Uint8Array,
    nameLengths: l as Uint8Array,
    entryCounts,
    replicas: r as string[],
    entryReplicas,
    values,
    // Its lanes are checked when merged (readPacked).
    ...(h === undefined ? {} : { hashSum: { h1: h[0] as number, h2: h[1] as number } }),
  }
}
