// A front end on the sockets of Node's HTTP server for a server's busiest
// requests: it reads each new connection's bytes itself and answers the
// requests its routes accept, in a strict subset of HTTP/1.1, without
// node:http's request and response objects (node README, "What the HTTP
// front end costs": 8–9 µs of CPU a request). The first request it does
// not answer, from its first byte, and the rest of the connection go to
// node:http as if it had read them itself (the bytes are put back on the
// socket and the socket handed to the server's own connection listener):
//
// - anything but `METHOD SP target SP HTTP/1.1 CRLF`, then header lines
//   `name: value CRLF` (a token name, printable ASCII or tab in the value),
//   then CRLF;
// - a header named twice, `Transfer-Encoding`, `Upgrade`, `Expect`, `TE`, a
//   `Connection` other than `keep-alive`, no `Host`, a `Content-Length`
//   that is not all digits;
// - a head over {@link MAX_HEAD} bytes, a body over the routes' limit;
// - a request the routes do not accept (by its head, then by its body);
// - a request sent while another is being answered (pipelining), or more
//   than one request in one read: node:http answers pipelined requests
//   concurrently, this front one at a time;
// - a request that is not complete headers timeout (the server's `headersTimeout`)
//   after its first byte, or when the connection fell silent
//   (its `keepAliveTimeout`) in the middle of it;
// - a request whose answer failed (the routes' promise rejected): it goes to
//   node:http with its error ({@link RawFront.takeError}), so the server's
//   own error handler answers it, and it is not served again. When the
//   client ended its side of the connection before that answer, the bytes
//   cannot be put back on the ended stream: the connection is closed without
//   an answer, as node:http closes it (it drops a request it has not
//   answered when the client ends its side).
//
// So the front never parses a request differently from node:http: it either
// answers what it fully understood, or node:http reads the same bytes from
// the same place. A connection stays with node:http once handed over.
//
// An answer is `HTTP/1.1 200 OK` with the routes' headers, `content-type:
// application/json; charset=utf-8`, `content-length`, `Date`, `Connection:
// keep-alive` and `Keep-Alive: timeout=<s>`, as node:http writes a
// `writeHead` + `end` answer. An idle connection is closed after the
// server's keep-alive timeout, as node:http does; once the front is closed
// ({@link RawFront.close}) idle connections are closed at once, a busy one
// after its answer (with `Connection: close`), and a request still arriving
// goes to node:http.

import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/** The head of a request the front read in full. */
export interface RawHead {
  /** The method, as sent (upper-case letters). */
  readonly method: string
  /** The request target, as sent (printable ASCII, no space). */
  readonly target: string
  /** Header values by lower-cased name (each name sent once), without surrounding spaces. */
  readonly headers: ReadonlyMap<string, string>
  /** The `Content-Length`, or -1 when none was sent (no body). */
  readonly contentLength: number
}

/** An answer of the routes: its JSON text and the headers it adds before the content type (names and values in printable ASCII). */
export interface RawAnswer {
  readonly body: string
  readonly headers?: readonly (readonly [string, string])[]
  /** Called once the answer is written (not when a header was refused and the request handed over with that error). */
  readonly written?: () => void
}

/** What the front answers, and how. */
export interface RawRoutes<T> {
  /**
   * What the front answers for a request with this head (`T`, handed back
   * to {@link serve}), or undefined when node:http must serve it. Called once
   * the head is complete, before its body; must not throw.
   */
  accept(head: RawHead): T | undefined
  /**
   * Answers an accepted request whose body (of `Content-Length` bytes) is
   * `body`: a promise of its 200 answer, or undefined when node:http must
   * serve it after all (its body is not one the front answers: nothing was
   * done). A rejected promise hands the request to node:http with its
   * error ({@link RawFront.takeError}). Must not throw.
   */
  serve(accepted: T, body: Buffer): Promise<RawAnswer> | undefined
}

/** Options of {@link serveRaw}. */
export interface RawFrontOptions {
  /** Largest body the front reads, bytes: a longer one goes to node:http. */
  readonly maxBody: number
}

/** The server's deadlines the front keeps, ms (read from the server when the front is installed). */
interface Deadlines {
  /** How long an idle connection stays open (and the `Keep-Alive: timeout` answered, in whole seconds): the server's `keepAliveTimeout`. */
  readonly keepAliveTimeoutMs: number
  /** How long after its first byte a request must be all there, else it goes to node:http (and its timeouts): the server's `headersTimeout`. */
  readonly headersTimeoutMs: number
}

/** A front installed by {@link serveRaw}. */
export interface RawFront {
  /** Stops answering: idle connections are closed now, a busy one after its answer; any request from now on goes to node:http. */
  close(): void
  /**
   * The error of the request the front handed to node:http on `socket`
   * after its answer failed, once (the first call takes it); undefined when
   * there is none. The server's request listener calls it for every request
   * and has the error answered instead of serving the request again.
   */
  takeError(socket: Socket): { readonly error: unknown } | undefined
  /** Connections the front reads now (not yet handed to node:http). */
  readonly connections: number
}

/** Longest head the front reads, bytes: a longer one goes to node:http (whose own limit is 16 KiB). */
export const MAX_HEAD = 8192

type ConnectionListener = (this: Server, socket: Socket) => void

/**
 * Removes `server`'s one `connection` listener (node:http's own) and puts
 * the front in its place: every new connection is read by the front until
 * it hands it to that listener. Call once, before the server listens.
 * Throws TypeError when the server does not have exactly one `connection`
 * listener.
 */
export function serveRaw<T>(server: Server, routes: RawRoutes<T>, opts: RawFrontOptions): RawFront {
  const listeners = server.listeners('connection') as ConnectionListener[]
  const http = listeners[0]
  if (listeners.length !== 1 || http === undefined)
    throw new TypeError(`a raw front needs the server's one connection listener, found ${listeners.length}`)
  server.removeListener('connection', http)

  const deadlines: Deadlines = {
    keepAliveTimeoutMs: server.keepAliveTimeout,
    headersTimeoutMs: server.headersTimeout,
  }
  const live = new Set<Connection<T>>()
  const errors = new WeakMap<Socket, { readonly error: unknown }>()
  // As node:http: no Keep-Alive line when the server keeps idle connections without a timeout (0).
  const keepAlive =
    deadlines.keepAliveTimeoutMs > 0
      ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(deadlines.keepAliveTimeoutMs / 1000)}\r\n\r\n`
      : 'Connection: keep-alive\r\n\r\n'
  let closed = false

  const front: Front<T> = {
    routes,
    maxBody: opts.maxBody,
    deadlines,
    keepAlive,
    closed: () => closed,
    handOver(c, error) {
      live.delete(c)
      if (error !== undefined) errors.set(c.socket, error)
      http.call(server, c.socket)
    },
    forget(c) {
      live.delete(c)
    },
  }

  server.on('connection', (socket: Socket) => {
    if (closed) return http.call(server, socket)
    live.add(new Connection(socket, front))
  })

  return {
    close() {
      closed = true
      for (const c of [...live]) c.close()
    },
    takeError(socket) {
      const e = errors.get(socket)
      if (e !== undefined) errors.delete(socket)
      return e
    },
    get connections() {
      return live.size
    },
  }
}

/** What a connection needs from its front. */
interface Front<T> {
  readonly routes: RawRoutes<T>
  readonly maxBody: number
  readonly deadlines: Deadlines
  /** The answer's last header lines and the blank line, keep-alive. */
  readonly keepAlive: string
  closed(): boolean
  /** Hands the connection's socket (its unread bytes already put back) to node:http, with a failed answer's error. */
  handOver(c: Connection<T>, error: { readonly error: unknown } | undefined): void
  /** The connection ended or was destroyed while the front read it. */
  forget(c: Connection<T>): void
}

const CLOSE = 'Connection: close\r\n\r\n'

/** One connection the front reads, until it hands it over or it ends. */
class Connection<T> {
  readonly socket: Socket
  readonly #front: Front<T>
  /** Bytes read and not yet answered (from the start of the next request), or null. */
  #pending: Buffer | null = null
  /** When the first byte of the pending request came (ms, performance.now()). */
  #since = 0
  /** A request is being answered. */
  #busy = false
  /** Bytes came while a request was answered (the client pipelines). */
  #pipelined = false
  /** The client ended its side while a request was answered. */
  #ended = false
  /** The front no longer reads this connection (handed over, or gone). */
  #done = false

  readonly #onData = (chunk: Buffer): void => this.#data(chunk)
  readonly #onEnd = (): void => this.#end()
  readonly #onTimeout = (): void => this.#timeout()
  readonly #onGone = (): void => this.#gone()

  constructor(socket: Socket, front: Front<T>) {
    this.socket = socket
    this.#front = front
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('timeout', this.#onTimeout)
    socket.on('error', this.#onGone)
    socket.on('close', this.#onGone)
    socket.setTimeout(front.deadlines.keepAliveTimeoutMs)
  }

  /** Closes the connection if idle; a busy one closes after its answer, a part-read request goes to node:http. */
  close(): void {
    if (this.#done || this.#busy) return
    if (this.#pending !== null) {
      this.#handOver(undefined)
      return
    }
    this.#stop()
    this.socket.destroy()
  }

  #data(chunk: Buffer): void {
    if (this.#done) return
    const pending = this.#pending
    if (pending === null) this.#since = performance.now()
    this.#pending = pending === null ? chunk : Buffer.concat([pending, chunk])
    if (!this.#busy) {
      this.#next()
      return
    }
    // Kept for node:http, which answers the rest of the connection after this answer.
    this.#pipelined = true
    // A client that sends on without reading answers: the socket holds the rest (node:http reads it then).
    if ((this.#pending as Buffer).length > MAX_HEAD + this.#front.maxBody) this.socket.pause()
  }

  /** Answers the pending request if it is complete and the front's; hands over what is not. */
  #next(): void {
    const b = this.#pending
    if (b === null) return
    const front = this.#front
    if (front.closed()) {
      this.#handOver(undefined)
      return
    }
    const end = b.indexOf(HEAD_END)
    if (end < 0) {
      if (b.length > MAX_HEAD || !plausiblePrefix(b) || this.#late()) this.#handOver(undefined)
      return
    }
    if (end + 4 > MAX_HEAD) {
      this.#handOver(undefined)
      return
    }
    const head = parseHead(b, end)
    if (head === undefined || head.contentLength > front.maxBody) {
      this.#handOver(undefined)
      return
    }
    const accepted = front.routes.accept(head)
    if (accepted === undefined) {
      this.#handOver(undefined)
      return
    }
    const length = Math.max(head.contentLength, 0)
    const total = end + 4 + length
    if (b.length < total) {
      if (this.#late()) this.#handOver(undefined)
      return
    }
    // More than one request in one read: node:http answers them (concurrently, as it does).
    if (b.length > total) {
      this.#handOver(undefined)
      return
    }
    const answer = front.routes.serve(accepted, b.subarray(end + 4, total))
    if (answer === undefined) {
      this.#handOver(undefined)
      return
    }
    // The request's bytes are kept until its answer is written: a failed answer hands them to node:http.
    this.#busy = true
    answer.then(
      (a) => this.#answered(a, total),
      (error: unknown) => this.#failed({ error }),
    )
  }

  #answered(a: RawAnswer, total: number): void {
    this.#busy = false
    if (this.#done) return
    let head = 'HTTP/1.1 200 OK\r\n'
    if (a.headers !== undefined)
      for (const [name, value] of a.headers) {
        if (!TOKEN_RE.test(name) || !VALUE_RE.test(value)) {
          // Nothing was written: the server's error handler answers instead, as when node:http refuses a header.
          this.#failed({ error: new TypeError(`invalid answer header ${JSON.stringify(name)}`) })
          return
        }
        head += `${name}: ${value}\r\n`
      }
    const closing = this.#front.closed() || this.#ended
    head += `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(a.body)}\r\nDate: ${utcDate()}\r\n${closing ? CLOSE : this.#front.keepAlive}`
    this.socket.write(head + a.body)
    a.written?.()
    // The pending bytes are this request's (and any read while it was answered, after them).
    const p = this.#pending
    this.#pending = p === null || p.length <= total ? null : p.subarray(total)
    if (closing) {
      this.#stop()
      this.socket.end()
      return
    }
    // Bytes came meanwhile (the client pipelines): node:http answers the rest of the connection.
    if (this.#pipelined) this.#handOver(undefined)
  }

  #failed(error: { readonly error: unknown }): void {
    this.#busy = false
    if (this.#done) return
    if (this.#ended) {
      // Bytes cannot be put back on a stream that ended: the connection closes unanswered, as
      // node:http closes it when a client ends its side before an answer.
      this.#stop()
      this.socket.destroy()
      return
    }
    // The pending bytes start with the failed request (nothing after it was answered).
    this.#handOver(error)
  }

  /** True when the pending request has been arriving for longer than the headers timeout. */
  #late(): boolean {
    return performance.now() - this.#since > this.#front.deadlines.headersTimeoutMs
  }

  #end(): void {
    this.#ended = true
    // While a request is answered, the connection ends after its answer.
    if (this.#done || this.#busy) return
    // A part-read request at the end of the stream is never answered (node:http would see it cut short too).
    this.#stop()
    if (this.#pending === null) this.socket.end()
    else this.socket.destroy()
  }

  // Idle past the keep-alive timeout: closed, as node:http closes it (a part-read request goes to node:http).
  #timeout(): void {
    this.close()
  }

  #gone(): void {
    if (this.#done) return
    this.#stop()
    this.socket.destroy()
  }

  /** Stops reading the connection: listeners and timer removed, forgotten by the front. */
  #stop(): void {
    this.#done = true
    const s = this.socket
    s.removeListener('data', this.#onData)
    s.removeListener('end', this.#onEnd)
    s.removeListener('timeout', this.#onTimeout)
    s.removeListener('error', this.#onGone)
    s.removeListener('close', this.#onGone)
    s.setTimeout(0)
    this.#front.forget(this)
  }

  #handOver(error: { readonly error: unknown } | undefined): void {
    const pending = this.#pending
    this.#pending = null
    this.#stop()
    const s = this.socket
    // Put back before node:http listens: its first 'data' is these bytes, then what the socket
    // holds (it flows again from the next tick; nothing is emitted in between).
    if (pending !== null) s.unshift(pending)
    s.resume()
    this.#front.handOver(this, error)
  }
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1')
const HTTP11 = Buffer.from(' HTTP/1.1\r\n', 'latin1')

// RFC 9110 token characters.
const TOKEN = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const VALUE_RE = /^[\t\x20-\x7e]*$/

// Headers whose meaning node:http acts on beyond what the front does: any of them sends the request to node:http.
const FOR_NODE_HTTP = new Set(['transfer-encoding', 'upgrade', 'expect', 'te', 'http2-settings'])

/**
 * True while `b`, a head not yet complete, could still become one the front
 * reads: upper-case letters, then a space. Anything else goes to node:http
 * at once rather than waiting for its end. Pure.
 */
function plausiblePrefix(b: Buffer): boolean {
  let i = 0
  while (i < b.length && i < 16) {
    const c = b[i] as number
    if (c === 0x20) return i > 0
    if (c < 0x41 || c > 0x5a) return false
    i++
  }
  return i < 16
}

/**
 * The head `b[0, end)` (`end` the index of its blank line's CRLF CRLF), or
 * undefined when it is not in the strict form the front reads (file
 * header). Pure.
 */
export function parseHead(b: Buffer, end: number): RawHead | undefined {
  // Method: upper-case letters, one space.
  let i = 0
  while (i < end && (b[i] as number) >= 0x41 && (b[i] as number) <= 0x5a) i++
  if (i === 0 || i > 16 || b[i] !== 0x20) return undefined
  const method = b.toString('latin1', 0, i)
  // Target: printable ASCII but space, one space, then HTTP/1.1 CRLF.
  const t0 = ++i
  while (i < end && (b[i] as number) > 0x20 && (b[i] as number) < 0x7f) i++
  if (i === t0 || b.compare(HTTP11, 0, HTTP11.length, i, i + HTTP11.length) !== 0) return undefined
  const target = b.toString('latin1', t0, i)
  i += HTTP11.length
  const headers = new Map<string, string>()
  let contentLength = -1
  // Header lines, each `name:` OWS value OWS CRLF, up to the blank line (at end + 2).
  const stop = end + 2
  while (i < stop) {
    const n0 = i
    while (i < stop && TOKEN[b[i] as number] === 1) i++
    if (i === n0 || b[i] !== 0x3a) return undefined
    const name = b.toString('latin1', n0, i).toLowerCase()
    i++
    while (b[i] === 0x20 || b[i] === 0x09) i++
    const v0 = i
    let v1 = i
    for (;;) {
      const c = b[i] as number
      if (c === 0x0d) break
      if (c !== 0x09 && (c < 0x20 || c > 0x7e)) return undefined
      i++
      if (c !== 0x20 && c !== 0x09) v1 = i
    }
    if (i >= stop || b[i + 1] !== 0x0a) return undefined
    i += 2
    if (headers.has(name) || FOR_NODE_HTTP.has(name)) return undefined
    const value = b.toString('latin1', v0, v1)
    if (name === 'content-length') {
      if (!/^[0-9]{1,15}$/.test(value)) return undefined
      contentLength = Number(value)
    } else if (name === 'connection' && value.toLowerCase() !== 'keep-alive') return undefined
    headers.set(name, value)
  }
  if (i !== stop || !headers.has('host')) return undefined
  return { method, target, headers, contentLength }
}

/**
 * The body length of a plain write's raw head: `Content-Type:
 * application/json` exactly and a `Content-Length` of at most `bodyLimit`
 * bytes (a raw head has no transfer coding); undefined otherwise (fastify
 * answers those). The raw head's counterpart of kit's `plainWriteLength`. Pure.
 */
export function plainRawWriteLength(head: RawHead, bodyLimit: number): number | undefined {
  if (head.headers.get('content-type') !== 'application/json') return undefined
  const length = head.contentLength
  return length >= 0 && length <= bodyLimit ? length : undefined
}

let dateSecond = -1
let dateText = ''

/** The `Date` header's value now, made once a second. */
function utcDate(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}
