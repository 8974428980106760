// On-disk layout of a snapshot written in slices (formats 2 and 3). The
// snapshot key holds a small manifest; the state and the idempotency records
// are chunk records `c:<generation>:<index>`, each a checksummed frame holding
// a slice. Format 2 stores counters as plain columns (`{x: StateColumns}`),
// format 3 as packed columns (`{y: PackedRecord}`, packed-chunk.ts); records
// are maps in format 2 (`{k: [record, …]}`) and arrays in format 3 (`{j:
// RecordTuples}`, record-tuples.ts). The manifest's `v` says which format the
// snapshot was written in; both are read. A snapshot exists once its manifest is written (fsynced, after
// every chunk): chunks of another generation are leftovers of an
// interrupted or superseded snapshot and are deleted.
// Format 1 (one frame holding everything) is still read: see record-codec.ts.

import type { PackedColumns, StateColumns, Summary } from '@tally/crdt'
import { crc32 } from './crc32.js'
import { packedRecord, readPackedRecord } from './packed-chunk.js'
import { decodeFrame, decodeSnapshot, encodeFrame, readIdem, type SnapshotRecord } from './record-codec.js'
import { readRecordTuples, recordTuples } from './record-tuples.js'
import type { IdempotencyRecord } from './store.js'

/** Every chunk key starts with this. */
export const CHUNK_PREFIX = 'c:'
/** Upper bound (exclusive) for a range over every chunk key. */
export const CHUNK_END = 'c;'

/** Snapshot format this version writes: 3, counters in packed columns. */
export const SNAPSHOT_FORMAT = 3

/** The manifest under the snapshot key (formats 2 and 3). */
export interface SnapshotManifest {
  /** Format: 2 (counter chunks in plain columns) or 3 (packed columns). */
  v: 2 | 3
  /** Every WAL batch up to and including this one is in the snapshot. */
  covered: number
  /** When it was taken (ms since epoch). */
  at: number
  /** Generation: its chunks are keyed `c:<gen>:…`. */
  gen: number
  /** Number of counter chunks (indexes 0 … chunks−1). */
  chunks: number
  /** Number of idempotency-record chunks, after the counter chunks. */
  recordChunks: number
  /**
   * Number of counters in the counter chunks (written since 2026-12-02;
   * absent before): a restart sizes the map's name index for them at once.
   */
  n?: number
  /** The version summary of the state. */
  vv: Summary
  /** Reset marks, TTLs and keyed answers (resets/marks-record.ts, stored form); absent when none. */
  m?: unknown
}

/**
 * One chunk: a slice of the counters in columns (checked when merged:
 * `CounterMap.mergeColumns`), or a slice of the idempotency records.
 */
export type SnapshotChunk =
  | { columns: StateColumns }
  | { packed: PackedColumns }
  | { records: IdempotencyRecord[] }

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0')
}

/** Key of chunk `index` of generation `gen` (fixed-width hex: string order = numeric order). */
export function chunkKey(gen: number, index: number): string {
  return `${CHUNK_PREFIX}${hex(gen, 14)}:${hex(index, 8)}`
}

/** Key range `[gte, lt)` holding every chunk of generation `gen`. */
export function chunkRange(gen: number): { gte: string; lt: string } {
  return { gte: `${CHUNK_PREFIX}${hex(gen, 14)}:`, lt: `${CHUNK_PREFIX}${hex(gen, 14)};` }
}

/**
 * Encodes a chunk as a checksummed frame: packed columns and records in
 * format 3; plain columns in format 2 (read back, no longer written).
 */
export function encodeChunk(chunk: SnapshotChunk): Uint8Array {
  if ('packed' in chunk) return encodeFrame({ y: packedRecord(chunk.packed) })
  if ('columns' in chunk) return encodeFrame({ x: chunk.columns })
  return encodeFrame({ j: recordTuples(chunk.records) })
}

/** Decodes a chunk, or why it is unusable. Counter contents are checked when folded. Never throws. */
export function decodeChunk(bytes: Uint8Array | undefined): SnapshotChunk | { reason: string } {
  const d = decodeFrame(bytes)
  if (!d.ok) return { reason: d.reason }
  const v = d.value as Record<string, unknown> | null
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const x = v.x
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) return { columns: x as StateColumns }
    if (v.y !== undefined) {
      const packed = readPackedRecord(v.y)
      return 'reason' in packed ? packed : { packed }
    }
    if (v.j !== undefined) {
      const records = readRecordTuples(v.j)
      return records ? { records } : { reason: 'malformed idempotency records' }
    }
    if (Array.isArray(v.k)) {
      const records: IdempotencyRecord[] = []
      for (const x of v.k) {
        const r = readIdem(x)
        if (r) records.push(r)
      }
      return { records }
    }
  }
  return { reason: 'not a snapshot chunk' }
}

/** The manifest of a format-2 or format-3 snapshot value, or null when `v` is not one. */
export function readManifest(v: unknown): SnapshotManifest | null {
  if (typeof v !== 'object' || v === null) return null
  const m = v as Record<string, unknown>
  if (m.v !== 2 && m.v !== 3) return null
  const ok =
    Number.isSafeInteger(m.covered) &&
    Number.isSafeInteger(m.gen) &&
    Number.isSafeInteger(m.chunks) &&
    Number.isSafeInteger(m.recordChunks) &&
    typeof m.vv === 'object' &&
    m.vv !== null
  if (!ok) return null
  return {
    v: m.v,
    covered: m.covered as number,
    at: typeof m.at === 'number' ? m.at : 0,
    gen: m.gen as number,
    chunks: m.chunks as number,
    recordChunks: m.recordChunks as number,
    vv: m.vv as Summary,
    // A size hint: one that is not a count is left out (the chunks hold the counters either way).
    ...(Number.isSafeInteger(m.n) && (m.n as number) >= 0 ? { n: m.n as number } : {}),
    ...(m.m !== undefined ? { m: m.m } : {}),
  }
}

/**
 * Decodes the value under the snapshot key: a format-2 or 3 manifest, a format-1
 * snapshot (everything in that one frame), or why it is unusable. Never throws.
 */
export function decodeSnapshotValue(
  bytes: Uint8Array | undefined,
): { manifest: SnapshotManifest } | { snapshot: SnapshotRecord } | { reason: string } {
  const d = decodeFrame(bytes)
  const value = d.ok ? d.value : null
  const version = typeof value === 'object' && value !== null ? (value as { v?: unknown }).v : null
  if (version === 2 || version === 3) {
    const manifest = readManifest(value)
    return manifest ? { manifest } : { reason: 'malformed snapshot manifest' }
  }
  return decodeSnapshot(bytes)
}

/** True when a frame's checksum matches its bytes (nothing decoded). Pure; never throws. */
export function frameIntact(bytes: Uint8Array): boolean {
  if (bytes.length < 5) return false
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(0) === crc32(bytes.subarray(4))
}

/** Index of a chunk key of generation `gen`, or null when the key is not one. */
export function chunkIndexOf(key: string, gen: number): number | null {
  const prefix = chunkRange(gen).gte
  if (!key.startsWith(prefix) || key.length !== prefix.length + 8) return null
  const n = Number.parseInt(key.slice(prefix.length), 16)
  return Number.isSafeInteger(n) ? n : null
}
