// An incremental parser of the HTTP/1.1 answers a node sends back on one
// pipelined connection: bytes in, complete answers out, in order. Pure (no
// sockets, no timers); read-channel.ts drives it. Everything it parses is
// untrusted: a malformed or oversized answer is an error, never a crash or an
// unbounded buffer.

/** One complete answer. */
export interface ParsedAnswer {
  readonly status: number
  /** The body, framing removed (Content-Length or chunked). */
  readonly body: Buffer
  /** The node said `Connection: close`: nothing more will be answered on this connection. */
  readonly close: boolean
}

/** The bytes are not an HTTP/1.1 answer this parser accepts; the connection must be dropped. */
export class AnswerParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AnswerParseError'
  }
}

/** Largest status line plus headers accepted, bytes. */
export const MAX_HEAD_BYTES = 16 * 1024

const CRLF2 = Buffer.from('\r\n\r\n')
const EMPTY = Buffer.alloc(0)

type Phase =
  | { readonly kind: 'head' }
  | { readonly kind: 'body'; readonly status: number; readonly close: boolean; readonly length: number }
  | {
      readonly kind: 'chunks'
      readonly status: number
      readonly close: boolean
      readonly parts: Buffer[]
      size: number
    }

const HEAD: Phase = { kind: 'head' }
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/
const DIGITS = /^\d{1,15}$/

/**
 * Splits a stream of HTTP/1.1 answers into {@link ParsedAnswer}s. Accepts
 * a status line `HTTP/1.x NNN …`, headers, and a body framed by
 * `Content-Length` or `Transfer-Encoding: chunked` (trailers ignored); an
 * answer with neither has an empty body (the node's answers always carry
 * one of them; 1xx, 204 and 304 have no body anyway). Not for answers to
 * HEAD requests. Synchronous; not thread-safe.
 */
export class ResponseParser {
  readonly #maxBody: number
  #buf: Buffer = EMPTY
  #phase: Phase = HEAD

  /** `maxBodyBytes`: largest body accepted (a bigger one is an {@link AnswerParseError}). */
  constructor(maxBodyBytes: number) {
    this.#maxBody = maxBodyBytes
  }

  /**
   * Feeds the next bytes of the connection; calls `onAnswer` for every
   * answer they complete, in order. Throws {@link AnswerParseError} on
   * malformed or oversized input (the parser is then unusable).
   */
  push(chunk: Buffer, onAnswer: (a: ParsedAnswer) => void): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    for (;;) {
      const phase = this.#phase
      if (phase.kind === 'head') {
        if (!this.#head()) return
      } else if (phase.kind === 'body') {
        if (this.#buf.length < phase.length) return
        const body = this.#buf.subarray(0, phase.length)
        this.#buf = this.#buf.subarray(phase.length)
        this.#phase = HEAD
        onAnswer({ status: phase.status, body, close: phase.close })
      } else {
        const done = this.#chunk(phase)
        if (done === undefined) return
        if (done) {
          this.#phase = HEAD
          const body = phase.parts.length === 1 ? (phase.parts[0] as Buffer) : Buffer.concat(phase.parts)
          onAnswer({ status: phase.status, body, close: phase.close })
        }
      }
    }
  }

  /** Bytes held that do not yet form a complete answer. */
  get buffered(): number {
    return this.#buf.length
  }

  // Parses the status line and headers when complete: true when it moved on.
  #head(): boolean {
    const end = this.#buf.indexOf(CRLF2)
    if (end < 0) {
      if (this.#buf.length > MAX_HEAD_BYTES) throw new AnswerParseError('answer head too large')
      return false
    }
    if (end > MAX_HEAD_BYTES) throw new AnswerParseError('answer head too large')
    const head = this.#buf.toString('latin1', 0, end)
    this.#buf = this.#buf.subarray(end + 4)
    const eol = head.indexOf('\r\n')
    const statusLine = eol < 0 ? head : head.slice(0, eol)
    const m = STATUS_LINE.exec(statusLine)
    if (m === null) throw new AnswerParseError('malformed status line')
    const status = Number(m[1])
    if (status < 200) throw new AnswerParseError(`unexpected informational answer ${status}`)
    let length: number | undefined
    let chunked = false
    let close = statusLine.startsWith('HTTP/1.0')
    // One pass over the header lines; only the three framing headers are looked at closely.
    for (let at = eol; at >= 0; ) {
      const start = at + 2
      const next = head.indexOf('\r\n', start)
      const stop = next < 0 ? head.length : next
      at = next
      const colon = head.indexOf(':', start)
      if (colon <= start || colon > stop) throw new AnswerParseError('malformed header line')
      const n = colon - start
      if (n !== 14 && n !== 17 && n !== 10) continue
      const name = head.slice(start, colon).toLowerCase()
      if (name === 'content-length') {
        const v = head.slice(colon + 1, stop).trim()
        if (!DIGITS.test(v) || (length !== undefined && length !== Number(v)))
          throw new AnswerParseError('bad content-length')
        length = Number(v)
      } else if (name === 'transfer-encoding') {
        const v = head
          .slice(colon + 1, stop)
          .trim()
          .toLowerCase()
        if (v !== 'chunked') throw new AnswerParseError(`unsupported transfer-encoding ${v}`)
        chunked = true
      } else if (name === 'connection') {
        const v = head.slice(colon + 1, stop).toLowerCase()
        if (v.includes('close')) close = true
        else if (v.includes('keep-alive')) close = false
      }
    }
    if (chunked && length !== undefined) throw new AnswerParseError('both content-length and chunked')
    const bodyless = status === 204 || status === 304
    if (chunked && !bodyless) {
      this.#phase = { kind: 'chunks', status, close, parts: [], size: 0 }
    } else {
      const n = bodyless ? 0 : (length ?? 0)
      if (n > this.#maxBody) throw new AnswerParseError(`answer body larger than ${this.#maxBody} bytes`)
      this.#phase = { kind: 'body', status, close, length: n }
    }
    return true
  }

  // One chunk (or the last chunk and trailers): undefined = need more bytes, true = answer complete.
  #chunk(phase: Extract<Phase, { kind: 'chunks' }>): boolean | undefined {
    const eol = this.#buf.indexOf('\r\n')
    if (eol < 0) {
      if (this.#buf.length > 1024) throw new AnswerParseError('malformed chunk size')
      return undefined
    }
    const sizeText = this.#buf.toString('latin1', 0, eol).split(';')[0]?.trim() ?? ''
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new AnswerParseError('malformed chunk size')
    const size = Number.parseInt(sizeText, 16)
    if (size === 0) {
      // Last chunk: skip trailers up to the empty line.
      const rest = this.#buf.subarray(eol + 2)
      if (rest.length >= 2 && rest[0] === 13 && rest[1] === 10) {
        this.#buf = rest.subarray(2)
        return true
      }
      const end = rest.indexOf(CRLF2)
      if (end < 0) {
        if (rest.length > MAX_HEAD_BYTES) throw new AnswerParseError('answer trailers too large')
        return undefined
      }
      this.#buf = rest.subarray(end + 4)
      return true
    }
    if (phase.size + size > this.#maxBody)
      throw new AnswerParseError(`answer body larger than ${this.#maxBody} bytes`)
    const need = eol + 2 + size + 2
    if (this.#buf.length < need) return undefined
    if (this.#buf[need - 2] !== 13 || this.#buf[need - 1] !== 10)
      throw new AnswerParseError('malformed chunk')
    phase.parts.push(this.#buf.subarray(eol + 2, eol + 2 + size))
    phase.size += size
    this.#buf = this.#buf.subarray(need)
    return false
  }
}
