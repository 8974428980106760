// The common log record read straight from its bytes: a WAL batch holding
// one compact single-operation local write and nothing else,
//
//   CRC-32 | msgpack { s: seq, o: [[2, name, replica, p, n, s]] }
//
// (record-codec.ts `encodeBatch`; what a node writes for each unkeyed
// increment when writes do not share a batch). Recovery may read a million
// of them: this reads the name in place (no string, no array, no object per
// record) for `StateFold.applyOneBytes`.
//
// It accepts only the exact bytes msgpackr writes for that shape, with a
// valid counter name, an ASCII replica id and numbers in the forms below;
// for anything else (another shape, a keyed write, a damaged frame) it
// answers false and the caller decodes the frame the general way
// (`readBatch`), which checks and reports it as before. So a frame it
// accepts decodes to exactly what `readBatch` would make of it.

import { crc32Range } from './crc32.js'
import type { StateFold } from './recovery-fold.js'
import type { ApplyFrame } from './wal-scan.js'

/** The fields of one compact row, as {@link readOneOpFrame} found them (a scratch object, reused). */
export interface OneOpView {
  /** The name's bytes are `bytes[nameAt, nameAt + nameLen)`: a valid counter name. */
  bytes: Uint8Array
  nameAt: number
  nameLen: number
  /** Replica id (any string: checked when folded). */
  replica: string
  p: number
  n: number
  s: number
}

/** A fresh scratch view for {@link readOneOpFrame}. */
export function oneOpView(): OneOpView {
  return { bytes: new Uint8Array(0), nameAt: 0, nameLen: 0, replica: '', p: 0, n: 0, s: 0 }
}

const FIXMAP_2 = 0x82
const FIXARRAY_1 = 0x91
const FIXARRAY_6 = 0x96
const KEY_S = [0xa1, 0x73] // "s"
const KEY_O = [0xa1, 0x6f] // "o"
const RESERVED = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f] // __proto__

const EMPTY = new Uint8Array(0)
// Read cursor, shared by the helpers below (one frame at a time, synchronously).
let b: Uint8Array = EMPTY
let at = 0

// A non-negative msgpack number in the forms msgpackr writes for one (fixint,
// uint 8/16/32, float 64), or -1 for any other byte (then the frame goes the general way).
function num(): number {
  const t = b[at++]
  if (t === undefined) return -1
  if (t < 0x80) return t
  if (t === 0xcc) return at + 1 <= b.length ? (b[at++] as number) : -1
  if (t === 0xcd) {
    if (at + 2 > b.length) return -1
    at += 2
    return ((b[at - 2] as number) << 8) | (b[at - 1] as number)
  }
  if (t === 0xce) {
    if (at + 4 > b.length) return -1
    at += 4
    return u32(at - 4)
  }
  if (t !== 0xcb || at + 8 > b.length) return -1
  at += 8
  // A float64 that is not a count stays as read (NaN, 1.5 …): the fold refuses it as it refuses readBatch's.
  return new DataView(b.buffer, b.byteOffset + at - 8, 8).getFloat64(0)
}

function u32(o: number): number {
  return (
    (b[o] as number) * 0x1000000 +
    (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))
  )
}

// Length of a msgpack string at the cursor (fixstr, str 8, str 16), its bytes then at `at`; -1 for anything else.
function str(): number {
  const t = b[at++]
  if (t === undefined) return -1
  let len: number
  if (t >= 0xa0 && t <= 0xbf) len = t - 0xa0
  else if (t === 0xd9 && at + 1 <= b.length) len = b[at++] as number
  else if (t === 0xda && at + 2 <= b.length) {
    len = ((b[at] as number) << 8) | (b[at + 1] as number)
    at += 2
  } else return -1
  return at + len <= b.length ? len : -1
}

function is(bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (b[at + i] !== bytes[i]) return false
  at += bytes.length
  return true
}

// Replica id strings by their bytes' last occurrence: a log is mostly one replica's writes.
let lastReplicaBytes = new Uint8Array(0)
let lastReplica = ''

function replicaAt(len: number): string | null {
  let same = len === lastReplicaBytes.length
  for (let i = 0; same && i < len; i++) same = b[at + i] === lastReplicaBytes[i]
  if (same) return lastReplica
  let s = ''
  for (let i = at; i < at + len; i++) {
    const c = b[i] as number
    if (c >= 0x80) return null // UTF-8: left to msgpackr's decoding
    s += String.fromCharCode(c)
  }
  lastReplicaBytes = b.slice(at, at + len)
  lastReplica = s
  return s
}

/**
 * Reads WAL batch `seq`'s frame into `out` when it is an intact record of
 * exactly one compact single-operation local write (see the file comment):
 * checksum right, batch number `seq`, a valid counter name (the returned
 * `out.bytes` is `frame`). Returns false for anything else, having changed
 * nothing the caller relies on: decode it with `readBatch`. Pure apart from
 * `out` and a one-entry cache of the last replica id; never throws.
 */
export function readOneOpFrame(seq: number, frame: Uint8Array, out: OneOpView): boolean {
  const ok = read(seq, frame, out)
  // Holds no frame between calls: a frame is a view into a whole segment file.
  b = EMPTY
  return ok
}

function read(seq: number, frame: Uint8Array, out: OneOpView): boolean {
  // The shortest such frame: 4 bytes of checksum and 17 of payload.
  if (frame.length < 21 || frame[4] !== FIXMAP_2) return false
  b = frame
  at = 5
  if (!is(KEY_S) || num() !== seq || !is(KEY_O)) return false
  if (b[at++] !== FIXARRAY_1 || b[at++] !== FIXARRAY_6 || b[at++] !== 2) return false
  const nameLen = str()
  if (nameLen < 1 || nameLen > 128) return false
  const nameAt = at
  for (let i = nameAt; i < nameAt + nameLen; i++) {
    const c = b[i] as number
    if (c < 0x21 || c > 0x7e) return false
  }
  if (nameLen === RESERVED.length && is(RESERVED)) return false
  at = nameAt + nameLen
  const replicaLen = str()
  if (replicaLen < 0) return false
  const replica = replicaAt(replicaLen)
  if (replica === null) return false
  at += replicaLen
  const p = num()
  const n = num()
  const s = num()
  if (p === -1 || n === -1 || s === -1 || at !== b.length) return false
  // Checked last: the one pass over every byte, and only for a frame that is otherwise ours.
  if (u32(0) !== crc32Range(frame, 4, frame.length)) return false
  out.bytes = frame
  out.nameAt = nameAt
  out.nameLen = nameLen
  out.replica = replica
  out.p = p
  out.n = n
  out.s = s
  return true
}

/**
 * The scan shortcut (wal-scan.ts `ApplyFrame`) that folds each frame
 * {@link readOneOpFrame} takes into `fold`, with the reason recovery's
 * general path gives for a refused operation (`invalid delta: …`).
 */
export function oneOpApplier(fold: StateFold): ApplyFrame {
  const view = oneOpView()
  return (seq, frame) => {
    if (!readOneOpFrame(seq, frame, view)) return undefined
    const why = fold.applyOneBytes(
      view.bytes,
      view.nameAt,
      view.nameLen,
      view.replica,
      view.p,
      view.n,
      view.s,
    )
    return why === null ? null : `invalid delta: ${why}`
  }
}
