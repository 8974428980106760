// On-disk layout of the append-only log segments that `--durability async`
// writes instead of LevelDB batches (segment-log.ts does the I/O). A segment
// file `<14 hex digits of its first batch number>.seg` is
//
//   magic  "TALLYSG1" (8 bytes)
//   record* length (u32 BE) | batch number (u64 BE as two u32) | frame
//
// where frame is exactly the checksummed LevelDB WAL value of that batch
// (record-codec.ts `encodeBatch`), so recovery checks and decodes both logs
// the same way (wal-scan.ts). The header itself carries no checksum: a wrong
// length lands on a frame whose checksum fails or runs past the end of the
// file, and a wrong batch number fails `decodeBatch`'s own number check.

import { plainBatch } from './plain-batch.js'
import { encodeBatch, type LogOp, walKey } from './record-codec.js'

/** First bytes of every segment file (format 1). */
export const SEGMENT_MAGIC = new TextEncoder().encode('TALLYSG1')
/** Bytes before each frame: length and batch number. */
export const RECORD_HEADER = 12
/** Segment file name suffix. */
export const SEGMENT_SUFFIX = '.seg'

/** File name of the segment whose first batch is `seq` (a positive safe integer); names sort in log order. */
export function segmentName(seq: number): string {
  return seq.toString(16).padStart(14, '0') + SEGMENT_SUFFIX
}

/** First batch number a segment file name claims, or null for any other file name. */
export function segmentFirstSeq(name: string): number | null {
  if (!/^[0-9a-f]{14}\.seg$/.test(name)) return null
  const n = Number.parseInt(name.slice(0, 14), 16)
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

/** Header + frame of batch `seq`, ready to append. Pure. */
export function encodeSegmentRecord(seq: number, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER + frame.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, frame.length)
  view.setUint32(4, Math.floor(seq / 2 ** 32))
  view.setUint32(8, seq >>> 0)
  out.set(frame, RECORD_HEADER)
  return out
}

/**
 * The segment record of batch `seq` holding `ops`: as
 * `encodeSegmentRecord(seq, encodeBatch(seq, ops))` (the same bytes), in one
 * buffer when the batch is all plain writes (plain-batch.ts). Pure.
 */
export function segmentRecordOf(seq: number, ops: readonly LogOp[]): Uint8Array {
  const out = plainBatch(seq, ops, RECORD_HEADER)
  if (out === null) return encodeSegmentRecord(seq, encodeBatch(seq, ops))
  // A Buffer from the pool (plainBatch): its own big-endian writers, no view of the shared ArrayBuffer.
  out.writeUInt32BE(out.length - RECORD_HEADER, 0)
  out.writeUInt32BE(Math.floor(seq / 2 ** 32), 4)
  out.writeUInt32BE(seq >>> 0, 8)
  return out
}

/** One record read back: its WAL key (`walKey(seq)`), frame and byte offset in the file. */
export interface SegmentEntry {
  key: string
  frame: Uint8Array
  offset: number
}

/** What one segment file holds: its readable records, and where (if anywhere) it stops being readable. */
export interface ParsedSegment {
  entries: SegmentEntry[]
  /**
   * Set when the file ends in bytes that are not a whole record (a write
   * torn by power loss, a bad magic, an impossible header): `key` is the
   * batch number that would come next (its frame is empty, so the log scan
   * sees it as damaged), `offset` where the unreadable part starts.
   */
  torn: { key: string; offset: number; reason: string } | null
}

/**
 * Splits a segment file's bytes into records. Pure; never throws. Checksums
 * are not checked here (the log scan does that, for both logs alike).
 * `firstSeq` is the batch number the file name claims.
 */
export function parseSegment(bytes: Uint8Array, firstSeq: number): ParsedSegment {
  const entries: SegmentEntry[] = []
  let torn: ParsedSegment['torn'] = null
  for (const piece of segmentPieces(bytes, firstSeq, Number.POSITIVE_INFINITY)) {
    for (const [, , seq, start, end] of piece.rows)
      entries.push({ key: walKey(seq), frame: bytes.subarray(start, end), offset: start - RECORD_HEADER })
    torn = piece.torn
  }
  return { entries, torn }
}

/**
 * A piece of a segment file: its records as log entries (`[null, bytes,
 * seq, start, end]`: the frame is `bytes[start, end)` of the whole file's
 * bytes, no view made per record, and the key, `walKey(seq)`, is made only
 * where needed), and the torn end if it is the last.
 */
export interface SegmentPiece {
  rows: Array<[null, Uint8Array, number, number, number]>
  torn: ParsedSegment['torn']
}

/**
 * {@link parseSegment} a piece at a time, as log entries: pieces of at most
 * `max` records (≥ 1), in order, the last one carrying `torn` (earlier ones
 * have none); their records together are exactly parseSegment's (a frame is
 * left in `bytes`). Recovery reads a million records of a file this
 * way, so that no piece outlives its turn of the scan. Pure; never throws.
 * Yields nothing for an empty well-formed file.
 */
export function* segmentPieces(bytes: Uint8Array, firstSeq: number, max: number): Generator<SegmentPiece> {
  let rows: SegmentPiece['rows'] = []
  let lastSeq = firstSeq - 1
  const tornAt = (offset: number, reason: string): SegmentPiece => ({
    rows,
    torn: { key: walKey(lastSeq + 1), offset, reason },
  })
  if (bytes.length < SEGMENT_MAGIC.length || !SEGMENT_MAGIC.every((b, i) => bytes[i] === b)) {
    yield tornAt(0, 'not a segment file (bad magic)')
    return
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = SEGMENT_MAGIC.length
  while (offset < bytes.length) {
    if (rows.length >= max) {
      yield { rows, torn: null }
      rows = []
    }
    if (bytes.length - offset < RECORD_HEADER) {
      yield tornAt(offset, 'record header cut short')
      return
    }
    const len = view.getUint32(offset)
    const seq = view.getUint32(offset + 4) * 2 ** 32 + view.getUint32(offset + 8)
    if (!Number.isSafeInteger(seq) || seq < 1) {
      yield tornAt(offset, 'impossible batch number')
      return
    }
    const end = offset + RECORD_HEADER + len
    if (end > bytes.length) {
      yield tornAt(offset, 'record cut short')
      return
    }
    rows.push([null, bytes, seq, offset + RECORD_HEADER, end])
    lastSeq = seq
    offset = end
  }
  if (rows.length > 0) yield { rows, torn: null }
}
