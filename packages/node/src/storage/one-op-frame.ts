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

// Bytes of the msgpack number whose type byte is `t`, in the forms msgpackr
// writes for a non-negative one (fixint, uint 8/16/32, float 64), or -1 for
// any other (then the frame goes the general way). Pure.
function numBytes(t: number): number {
  if (t < 0x80) return 1
  if (t === 0xcc) return 2
  if (t === 0xcd) return 3
  if (t === 0xce) return 5
  return t === 0xcb ? 9 : -1
}

// The number encoded at `b[o]` (type byte there; its numBytes(b[o]) bytes are in `b`). Pure.
function numAt(b: Uint8Array, o: number): number {
  const t = b[o] as number
  if (t < 0x80) return t
  if (t === 0xcc) return b[o + 1] as number
  if (t === 0xcd) return ((b[o + 1] as number) << 8) | (b[o + 2] as number)
  if (t === 0xce) return u32(b, o + 1)
  // A float64 that is not a count stays as read (NaN, 1.5 …): the fold refuses it as it refuses readBatch's.
  return new DataView(b.buffer, b.byteOffset + o + 1, 8).getFloat64(0)
}

function u32(b: Uint8Array, o: number): number {
  return (
    (b[o] as number) * 0x1000000 +
    (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))
  )
}

// Bytes of the header of the msgpack string at `b[o]` (fixstr 1, str 8 2, str 16 3), or -1 for anything else. Pure.
function strHead(t: number): number {
  if (t >= 0xa0 && t <= 0xbf) return 1
  if (t === 0xd9) return 2
  return t === 0xda ? 3 : -1
}

// Length of the msgpack string whose header (strHead(b[o]) bytes, in `b`) is at `b[o]`. Pure.
function strLen(b: Uint8Array, o: number): number {
  const t = b[o] as number
  if (t <= 0xbf) return t - 0xa0
  if (t === 0xd9) return b[o + 1] as number
  return ((b[o + 1] as number) << 8) | (b[o + 2] as number)
}

// Replica id strings by their bytes' last occurrence: a log is mostly one replica's writes.
let lastReplicaBytes = new Uint8Array(0)
let lastReplica = ''

// The replica id spelt by b[at, at + len), or null when it is not ASCII (left to msgpackr's decoding).
function replicaAt(b: Uint8Array, at: number, len: number): string | null {
  const last = lastReplicaBytes
  if (len === last.length) {
    let i = 0
    while (i < len && b[at + i] === last[i]) i++
    if (i === len) return lastReplica
  }
  let s = ''
  for (let i = at; i < at + len; i++) {
    const c = b[i] as number
    if (c >= 0x80) return null
    s += String.fromCharCode(c)
  }
  lastReplicaBytes = b.slice(at, at + len)
  lastReplica = s
  return s
}

/**
 * Reads WAL batch `seq`'s frame, `b[start, end)` (by default all of `b`),
 * into `out` when it is an intact record of exactly one compact
 * single-operation local write (see the file comment): checksum right,
 * batch number `seq`, a valid counter name (the returned `out.bytes` is `b`,
 * `out.nameAt` a position in it). Returns false for anything else, having
 * changed nothing the caller relies on: decode it with `readBatch`. Pure
 * apart from `out` and a one-entry cache of the last replica id; never
 * throws.
 */
export function readOneOpFrame(
  seq: number,
  b: Uint8Array,
  out: OneOpView,
  start = 0,
  end = b.length,
): boolean {
  // Every position below is read only after a check that it lies inside the frame.
  // The shortest such frame: 4 bytes of checksum and 17 of payload.
  if (
    start < 0 ||
    end > b.length ||
    end - start < 21 ||
    b[start + 4] !== FIXMAP_2 ||
    b[start + 5] !== KEY_S[0] ||
    b[start + 6] !== KEY_S[1]
  )
    return false
  let at = start + 7
  let w = numBytes(b[at] as number)
  if (w < 0 || at + w > end || numAt(b, at) !== seq) return false
  at += w
  if (at + 5 > end || b[at] !== KEY_O[0] || b[at + 1] !== KEY_O[1]) return false
  if (b[at + 2] !== FIXARRAY_1 || b[at + 3] !== FIXARRAY_6 || b[at + 4] !== 2) return false
  at += 5
  // The name: 1–128 bytes of 0x21–0x7E, not __proto__.
  w = at < end ? strHead(b[at] as number) : -1
  if (w < 0 || at + w > end) return false
  const nameLen = strLen(b, at)
  const nameAt = at + w
  if (nameLen < 1 || nameLen > 128 || nameAt + nameLen > end) return false
  for (let i = nameAt; i < nameAt + nameLen; i++) {
    const c = b[i] as number
    if (c < 0x21 || c > 0x7e) return false
  }
  if (nameLen === RESERVED.length) {
    let i = 0
    while (i < nameLen && b[nameAt + i] === RESERVED[i]) i++
    if (i === nameLen) return false
  }
  at = nameAt + nameLen
  // The replica id (any ASCII string: checked when folded).
  w = at < end ? strHead(b[at] as number) : -1
  if (w < 0 || at + w > end) return false
  const replicaLen = strLen(b, at)
  at += w
  if (at + replicaLen > end) return false
  const replica = replicaAt(b, at, replicaLen)
  if (replica === null) return false
  at += replicaLen
  // p, n, s: the frame ends right after them.
  w = at < end ? numBytes(b[at] as number) : -1
  if (w < 0 || at + w > end) return false
  const p = numAt(b, at)
  at += w
  w = at < end ? numBytes(b[at] as number) : -1
  if (w < 0 || at + w > end) return false
  const n = numAt(b, at)
  at += w
  w = at < end ? numBytes(b[at] as number) : -1
  if (w < 0 || at + w !== end) return false
  const s = numAt(b, at)
  // A float64 -1 is taken for the general way, as it always was (-1 once meant "no number here").
  if (p === -1 || n === -1 || s === -1) return false
  // Checked last: the one pass over every byte, and only for a frame that is otherwise ours.
  if (u32(b, start) !== crc32Range(b, start + 4, end)) return false
  out.bytes = b
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
  return (seq, bytes, start, end) => {
    if (!readOneOpFrame(seq, bytes, view, start, end)) return undefined
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
