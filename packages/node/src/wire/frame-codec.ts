// Length-prefixed frames: u32 big-endian length, then a version byte, the
// msgpack payload and, with a cluster key, a 32-byte HMAC-SHA256 tag over
// version+payload. The length counts everything after itself. The decoder
// checks the length against the limit before buffering a byte of the body.

import { createHmac, timingSafeEqual } from 'node:crypto'
import { decodeValue, encodeValue, WireError } from './wire-codec.js'

/** Current frame format version. */
export const FRAME_VERSION = 1
/** Bytes of the HMAC-SHA256 tag appended when a cluster key is set. */
export const TAG_BYTES = 32
const HEADER = 4

/** Why a frame was refused; the connection it came on is closed. */
export type FrameFault = 'oversize' | 'version' | 'auth' | 'short' | 'msgpack' | 'type' | 'key' | 'depth'

/** Thrown by {@link FrameDecoder.push} for a bad frame. */
export class FrameError extends Error {
  readonly fault: FrameFault
  /** Values of the good frames that came before the bad one in the same push. */
  decoded: unknown[] = []
  constructor(fault: FrameFault, message: string) {
    super(message)
    this.name = 'FrameError'
    this.fault = fault
  }
}

function tag(key: Buffer, version: Buffer, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(version).update(payload).digest()
}

/** Encodes one value into a complete frame (authenticated when `key` is given). Pure. */
export function encodeFrame(value: unknown, key?: Buffer): Buffer {
  const payload = encodeValue(value)
  const version = Buffer.of(FRAME_VERSION)
  const mac = key ? tag(key, version, payload) : undefined
  const len = 1 + payload.length + (mac ? TAG_BYTES : 0)
  const out = Buffer.allocUnsafe(HEADER + len)
  out.writeUInt32BE(len, 0)
  out[HEADER] = FRAME_VERSION
  out.set(payload, HEADER + 1)
  if (mac) out.set(mac, HEADER + 1 + payload.length)
  return out
}

/**
 * Incremental decoder for one connection's byte stream. `push(chunk)` returns
 * the values of every frame completed by that chunk, or throws
 * {@link FrameError} on the first bad frame (its `decoded` holds the good
 * frames before it; the stream is then unusable).
 */
export class FrameDecoder {
  readonly #max: number
  readonly #key: Buffer | undefined
  #chunks: Buffer[] = []
  #buffered = 0
  #need = -1

  /** `maxFrameBytes`: largest accepted length field. `key`: cluster key, or undefined for no auth. */
  constructor(maxFrameBytes: number, key?: Buffer) {
    this.#max = maxFrameBytes
    this.#key = key
  }

  /** Bytes received but not yet part of a complete frame (a header already read is not counted). */
  get pending(): number {
    return this.#buffered
  }

  /** True while a frame has started (some of its bytes, even just its header, arrived) and is not complete. */
  get inFrame(): boolean {
    return this.#need !== -1 || this.#buffered > 0
  }

  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    const out: unknown[] = []
    try {
      this.#drain(out)
    } catch (err) {
      if (err instanceof FrameError) err.decoded = out
      throw err
    }
    return out
  }

  #drain(out: unknown[]): void {
    for (;;) {
      if (this.#need === -1) {
        if (this.#buffered < HEADER) break
        const len = this.#take(HEADER).readUInt32BE(0)
        if (len > this.#max) throw new FrameError('oversize', `frame of ${len} bytes exceeds ${this.#max}`)
        if (len < 1 + (this.#key ? TAG_BYTES : 0) + 1)
          throw new FrameError('short', `frame of ${len} bytes is too short`)
        this.#need = len
      }
      if (this.#buffered < this.#need) break
      const body = this.#take(this.#need)
      this.#need = -1
      out.push(this.#open(body))
    }
  }

  #open(body: Buffer): unknown {
    if (body[0] !== FRAME_VERSION) throw new FrameError('version', `unsupported frame version ${body[0]}`)
    let payload = body.subarray(1)
    if (this.#key) {
      payload = body.subarray(1, body.length - TAG_BYTES)
      const got = body.subarray(body.length - TAG_BYTES)
      const want = tag(this.#key, body.subarray(0, 1), payload)
      if (!timingSafeEqual(got, want)) throw new FrameError('auth', 'frame authentication tag mismatch')
    }
    try {
      return decodeValue(payload)
    } catch (err) {
      if (err instanceof WireError) throw new FrameError(err.reason as FrameFault, err.message)
      throw err
    }
  }

  // Removes exactly n buffered bytes (n <= buffered) as one Buffer.
  #take(n: number): Buffer {
    const first = this.#chunks[0] as Buffer
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let off = 0
      while (off < n) {
        const c = this.#chunks[0] as Buffer
        const k = Math.min(c.length, n - off)
        c.copy(out, off, 0, k)
        off += k
        if (k === c.length) this.#chunks.shift()
        else this.#chunks[0] = c.subarray(k)
      }
    }
    this.#buffered -= n
    return out
  }
}
