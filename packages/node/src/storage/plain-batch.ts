// The common log batch encoded without msgpackr: every operation a plain
// local write of one counter (what increments and decrements without an
// Idempotency-Key log, over HTTP and RESP alike), i.e.
//
//   CRC-32 | msgpack { s: seq, o: [[2, name, replica, p, n, s], …] }
//
// (record-codec.ts `encodeBatch`). It writes exactly the bytes msgpackr
// writes for that value (fixmap, fixstr/str 8, the smallest unsigned form of
// each number, fixarray/array 16/array 32), so readers cannot tell the two
// apart, straight into one buffer with the checksum in front, and optionally
// room before it for a segment record's header: no rows, no msgpackr buffer,
// no second copy. A batch it does not cover (a key record, a remote delta,
// marks, a string past 255 characters or not ASCII, a number past
// 2^32 − 1) gets null, and the caller encodes it the general way.

import { crc32Range } from './crc32.js'
import type { LogOp } from './record-codec.js'

const FIXMAP_2 = 0x82
const FIXARRAY_6 = 0x96
const ROW_PLAIN = 2
const KEY_S = 0x73 // "s"
const KEY_O = 0x6f // "o"

// Bytes msgpackr writes for unsigned 32-bit integer `x` (fixint, uint 8/16/32).
function uintBytes(x: number): number {
  return x < 0x80 ? 1 : x < 0x100 ? 2 : x < 0x10000 ? 3 : 5
}

// The string strBytes looked at last, and its answer: a batch's rows share one replica id.
let lastStr = ''
let lastBytes = 1

// Bytes of the msgpack string `s` when it is an ASCII string of at most 255 characters, else -1
// (anything else, a number where a string belongs included, goes the general way).
function strBytes(s: unknown): number {
  if (typeof s !== 'string') return -1
  if (s === lastStr) return lastBytes
  const n = s.length
  let b = (n < 0x20 ? 1 : 2) + n
  if (n > 0xff) b = -1
  else
    for (let i = 0; i < n; i++)
      if (s.charCodeAt(i) > 0x7f) {
        b = -1
        break
      }
  lastStr = s
  lastBytes = b
  return b
}

// Writes unsigned 32-bit integer `x` at `out[at]` as msgpackr does; returns the position after it.
function putUint(out: Uint8Array, at: number, x: number): number {
  if (x < 0x80) {
    out[at] = x
    return at + 1
  }
  if (x < 0x100) {
    out[at] = 0xcc
    out[at + 1] = x
    return at + 2
  }
  if (x < 0x10000) {
    out[at] = 0xcd
    out[at + 1] = x >>> 8
    out[at + 2] = x & 0xff
    return at + 3
  }
  out[at] = 0xce
  out[at + 1] = x >>> 24
  out[at + 2] = (x >>> 16) & 0xff
  out[at + 3] = (x >>> 8) & 0xff
  out[at + 4] = x & 0xff
  return at + 5
}

// Writes ASCII string `s` (≤ 255 characters) at `out[at]` as msgpackr does; returns the position after it.
function putStr(out: Uint8Array, at: number, s: string): number {
  const n = s.length
  if (n < 0x20) out[at++] = 0xa0 | n
  else {
    out[at++] = 0xd9
    out[at++] = n
  }
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i)
  return at + n
}

function isU32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x
}

/**
 * Bytes of the row of `op` when it is a plain single-operation local write
 * (one entry of replica r at seq s, range (s − 1, s], no key record) that
 * this encodes, else -1.
 */
function plainRowBytes(op: LogOp): number {
  if (op.kind !== 'local' || op.idem !== undefined) return -1
  const d = op.delta
  if (d.ranges.length !== 1 || d.entries.length !== 1) return -1
  const range = d.ranges[0]!
  const e = d.entries[0]!
  const r = range[0]
  const to = range[2]
  const name = e[0]
  const p = e[2]
  const n = e[3]
  const s = e[4]
  if (e[1] !== r || s !== to || range[1] !== to - 1) return -1
  if (!isU32(p) || !isU32(n) || !isU32(s)) return -1
  const nb = strBytes(name)
  const rb = strBytes(r)
  if (nb < 0 || rb < 0) return -1
  return 2 + nb + rb + uintBytes(p) + uintBytes(n) + uintBytes(s)
}

/**
 * `headroom` zero bytes, then the checksummed frame `encodeBatch(seq, ops)`
 * makes (the same bytes), or null when a batch of `ops` is not all plain
 * single-operation local writes that this encodes (see the header). The
 * bytes are a Buffer from Node's pool: a view of part of a shared
 * ArrayBuffer (mind `byteOffset`). Pure; never throws.
 */
export function plainBatch(seq: number, ops: readonly LogOp[], headroom: number): Buffer | null {
  if (!isU32(seq) || ops.length === 0) return null
  // Sizes first (and whether every op qualifies), then one buffer written front to back.
  let size = 1 + 2 + uintBytes(seq) + 2 + (ops.length < 0x10 ? 1 : ops.length < 0x10000 ? 3 : 5)
  for (const op of ops) {
    const b = plainRowBytes(op)
    if (b < 0) return null
    size += b
  }
  // From Node's buffer pool: a typed array of this size of its own costs about ten times as much
  // (an ArrayBuffer outside the heap); the batch is written out and dropped at once.
  const out = Buffer.allocUnsafe(headroom + 4 + size)
  out.fill(0, 0, headroom)
  let at = headroom + 4
  out[at++] = FIXMAP_2
  out[at++] = 0xa1
  out[at++] = KEY_S
  at = putUint(out, at, seq)
  out[at++] = 0xa1
  out[at++] = KEY_O
  const k = ops.length
  if (k < 0x10) out[at++] = 0x90 | k
  else if (k < 0x10000) {
    out[at++] = 0xdc
    out[at++] = k >>> 8
    out[at++] = k & 0xff
  } else {
    out[at++] = 0xdd
    out[at++] = k >>> 24
    out[at++] = (k >>> 16) & 0xff
    out[at++] = (k >>> 8) & 0xff
    out[at++] = k & 0xff
  }
  for (let i = 0; i < k; i++) {
    // Every op is a plain local write here (checked above).
    const e = (ops[i] as Extract<LogOp, { kind: 'local' }>).delta.entries[0]!
    out[at++] = FIXARRAY_6
    out[at++] = ROW_PLAIN
    at = putStr(out, at, e[0])
    at = putStr(out, at, e[1])
    at = putUint(out, at, e[2])
    at = putUint(out, at, e[3])
    at = putUint(out, at, e[4])
  }
  const crc = crc32Range(out, headroom + 4, at)
  out[headroom] = crc >>> 24
  out[headroom + 1] = (crc >>> 16) & 0xff
  out[headroom + 2] = (crc >>> 8) & 0xff
  out[headroom + 3] = crc & 0xff
  return out
}
