// Incremental parser of Redis client requests (RESP2/RESP3 share the request
// format): arrays of bulk strings (`*2\r\n$4\r\nINCR\r\n$1\r\na\r\n`) and
// inline commands (`PING\r\n` typed by hand). Pure: bytes in, commands out.
// Every length is checked against the limits before anything is buffered for
// it, so a client announcing a huge bulk string costs nothing.

/** Limits of one request. A request beyond them is a protocol error (the connection closes). */
export interface RespLimits {
  /** Most arguments (array elements) in one request. */
  readonly maxArgs: number
  /** Longest bulk string (one argument), bytes. */
  readonly maxBulkBytes: number
  /** Longest inline command line, bytes. */
  readonly maxInlineBytes: number
  /** Most bytes one request may span (all its arguments and headers). */
  readonly maxRequestBytes: number
}

/** Documented defaults: 4096 arguments, 64 KiB per argument, 64 KiB inline lines, 1 MiB per request. */
export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxArgs: 4096,
  maxBulkBytes: 64 * 1024,
  maxInlineBytes: 64 * 1024,
  maxRequestBytes: 1024 * 1024,
}

/** A request the client got wrong: reply `-ERR Protocol error: <message>` and close the connection. */
export class RespProtocolError extends Error {
  readonly code = 'TALLY_RESP_PROTOCOL'
  constructor(message: string) {
    super(message)
    this.name = 'RespProtocolError'
  }
}

const CR = 13
const LF = 10
/** Longest `*<n>` / `$<n>` header line Redis accepts before it gives up. */
const MAX_HEADER = 20

/** Parses a non-negative-or--1 decimal header value; NaN when malformed. */
function headerInt(buf: Buffer, from: number, to: number): number {
  if (to <= from || to - from > MAX_HEADER) return Number.NaN
  let i = from
  let neg = false
  if (buf[i] === 45) {
    neg = true
    i++
    if (i === to) return Number.NaN
  }
  let n = 0
  for (; i < to; i++) {
    const c = buf[i] as number
    if (c < 48 || c > 57) return Number.NaN
    n = n * 10 + (c - 48)
  }
  return neg ? -n : n
}

/**
 * Splits an inline command line into arguments the way redis-server does
 * (`sdssplitargs`): spaces separate, "double quotes" take `\n \r \t \b \a \\ \" \xHH`
 * escapes, 'single quotes' take `\'`. Returns null for unbalanced quotes.
 */
export function splitInline(line: string): string[] | null {
  const out: string[] = []
  let i = 0
  const n = line.length
  for (;;) {
    while (i < n && /\s/.test(line[i] as string)) i++
    if (i >= n) return out
    let cur = ''
    let inDq = false
    let inSq = false
    for (;;) {
      const c = line[i]
      if (inDq) {
        if (c === undefined) return null
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16))
          i += 3
        } else if (c === '\\' && i + 1 < n) {
          i++
          const e = line[i] as string
          cur +=
            e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e
        } else if (c === '"') {
          // A closing quote must be followed by a space or the end.
          const next = line[i + 1]
          if (next !== undefined && !/\s/.test(next)) return null
          i++
          break
        } else cur += c
      } else if (inSq) {
        if (c === undefined) return null
        if (c === '\\' && line[i + 1] === "'") {
          i++
          cur += "'"
        } else if (c === "'") {
          const next = line[i + 1]
          if (next !== undefined && !/\s/.test(next)) return null
          i++
          break
        } else cur += c
      } else {
        if (c === undefined || /\s/.test(c)) break
        if (c === '"') inDq = true
        else if (c === "'") inSq = true
        else cur += c
      }
      i++
    }
    out.push(cur)
  }
}

/**
 * Incremental request parser. Feed bytes with {@link push}, then take
 * complete requests with {@link next} until it returns undefined. After a
 * {@link RespProtocolError} the stream is unusable: reply and close.
 * Arguments are byte strings (latin1: one char per byte, so binary safe),
 * decoded straight from the input without an intermediate Buffer.
 */
export class RespParser {
  readonly #limits: RespLimits
  #buf: Buffer = Buffer.alloc(0)
  #pos = 0

  constructor(limits: RespLimits = DEFAULT_RESP_LIMITS) {
    this.#limits = limits
  }

  /** Bytes received but not yet part of a complete request. */
  get buffered(): number {
    return this.#buf.length - this.#pos
  }

  /** Appends received bytes. Never throws. */
  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk
      this.#pos = 0
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk])
      this.#pos = 0
    }
  }

  /**
   * The next complete request (its arguments; never empty), or undefined when
   * more bytes are needed. Empty requests (`*0`, blank lines) are skipped as
   * redis-server does. Throws {@link RespProtocolError} for a malformed or
   * oversized request, before buffering anything for it.
   */
  next(): string[] | undefined {
    for (;;) {
      if (this.#pos >= this.#buf.length) return undefined
      const r = this.#buf[this.#pos] === 42 ? this.#multibulk() : this.#inline()
      if (r === undefined) return undefined
      if (r.length > 0) return r
    }
  }

  #line(from: number): number {
    const buf = this.#buf
    const lf = buf.indexOf(LF, from)
    return lf
  }

  #inline(): string[] | undefined {
    const buf = this.#buf
    const lf = this.#line(this.#pos)
    if (lf === -1) {
      if (buf.length - this.#pos > this.#limits.maxInlineBytes)
        throw new RespProtocolError('too big inline request')
      return undefined
    }
    if (lf - this.#pos > this.#limits.maxInlineBytes) throw new RespProtocolError('too big inline request')
    const end = lf > this.#pos && buf[lf - 1] === CR ? lf - 1 : lf
    const line = buf.toString('latin1', this.#pos, end)
    this.#pos = lf + 1
    const args = splitInline(line)
    if (args === null) throw new RespProtocolError('unbalanced quotes in request')
    if (args.length > this.#limits.maxArgs) throw new RespProtocolError('invalid multibulk length')
    return args
  }

  #multibulk(): string[] | undefined {
    const buf = this.#buf
    let p = this.#pos + 1
    let lf = this.#line(p)
    if (lf === -1) {
      if (buf.length - p > MAX_HEADER + 1) throw new RespProtocolError('too big mbulk count string')
      return undefined
    }
    if (buf[lf - 1] !== CR) throw new RespProtocolError('invalid multibulk length')
    const count = headerInt(buf, p, lf - 1)
    if (Number.isNaN(count) || count > this.#limits.maxArgs)
      throw new RespProtocolError('invalid multibulk length')
    p = lf + 1
    if (count <= 0) {
      this.#pos = p
      return []
    }
    const args: string[] = new Array(count)
    for (let i = 0; i < count; i++) {
      if (p >= buf.length) return undefined
      if (buf[p] !== 36) {
        throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[p] as number)}'`)
      }
      lf = this.#line(p + 1)
      if (lf === -1) {
        if (buf.length - p > MAX_HEADER + 2) throw new RespProtocolError('too big bulk count string')
        return undefined
      }
      if (buf[lf - 1] !== CR) throw new RespProtocolError('invalid bulk length')
      const len = headerInt(buf, p + 1, lf - 1)
      if (Number.isNaN(len) || len < 0 || len > this.#limits.maxBulkBytes)
        throw new RespProtocolError('invalid bulk length')
      const start = lf + 1
      if (start + len + 2 - this.#pos > this.#limits.maxRequestBytes)
        throw new RespProtocolError('too big request')
      if (start + len + 2 > buf.length) return undefined
      if (buf[start + len] !== CR || buf[start + len + 1] !== LF)
        throw new RespProtocolError('bulk string not terminated by CRLF')
      args[i] = buf.toString('latin1', start, start + len)
      p = start + len + 2
    }
    this.#pos = p
    return args
  }
}
