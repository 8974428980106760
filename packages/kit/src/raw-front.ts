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
// - a request that is not complete by the headers timeout (the server's
//   `headersTimeout`) after its first byte, or when the connection fell
//   silent (its `keepAliveTimeout`) in the middle of it;
// - a request whose answer failed (the routes' promise rejected), once the
//   requests pipelined behind it settled: it and they go to node:http with
//   their outcomes ({@link RawFront.takeOutcome}), so the server's own error
//   handler answers the failed one and the request listener writes the
//   others' answers, and none is served again. When the client ended its
//   side of the connection before that, the bytes cannot be put back on the
//   ended stream: the connection is closed without those answers, as
//   node:http closes it (it drops requests it has not answered when the
//   client ends its side).
//
// Pipelined requests are served concurrently, up to {@link MAX_IN_FLIGHT} a
// connection, and answered in order, as node:http does.
//
// So the front never parses a request differently from node:http: it either
// answers what it fully understood, or node:http reads the same bytes from
// the same place. A connection stays with node:http once handed over. One
// difference remains in how node:http then reads: the bytes put back reach
// its parser in one call, so when they hold a request it refuses (400, then
// it closes), answers not yet written to requests before that one in those
// bytes are not written; reading the socket itself, it writes them first.
//
// An answer is `HTTP/1.1 200 OK` with the routes' headers, `content-type:
// application/json; charset=utf-8`, `content-length`, `Date`, `Connection:
// keep-alive` and `Keep-Alive: timeout=<s>`, as node:http writes a
// `writeHead` + `end` answer. An idle connection is closed after the
// server's keep-alive timeout, as node:http does; once the front is closed
// ({@link RawFront.close}) idle connections are closed at once, a busy one
// after its answers (the last with `Connection: close`), and a request not
// yet begun goes to node:http.

import type { Server, ServerResponse } from 'node:http'
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

/** What became of a request the front served before it handed the connection to node:http: its answer, or its error. */
export type RawOutcome = { readonly answer: RawAnswer } | { readonly error: unknown }

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
   * error ({@link RawFront.takeOutcome}). Must not throw.
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
  /** Stops answering: idle connections are closed now, a busy one after its answers; any request not yet begun goes to node:http. */
  close(): void
  /**
   * The outcome of the next request node:http reads on `socket` when the
   * front served it already (a failed answer, and the requests pipelined
   * behind it): its error, or its answer. Each call takes one, in the
   * requests' order; undefined when there is none (node:http serves the
   * request). The server's request listener calls it for every request and
   * has the error answered by its error handler, or writes the answer
   * ({@link writeAnswer}), instead of serving the request again.
   */
  takeOutcome(socket: Socket): RawOutcome | undefined
  /** Connections the front reads now (not yet handed to node:http). */
  readonly connections: number
}

/** Longest head the front reads, bytes: a longer one goes to node:http (whose own limit is 16 KiB). */
export const MAX_HEAD = 8192

/** Most requests of one connection served at once; more wait in the socket until answers are written. */
export const MAX_IN_FLIGHT = 32

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
  const outcomes = new WeakMap<Socket, RawOutcome[]>()
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
    handOver(c, served) {
      live.delete(c)
      if (served.length > 0) outcomes.set(c.socket, served)
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
    takeOutcome(socket) {
      const queue = outcomes.get(socket)
      if (queue === undefined) return undefined
      const o = queue.shift()
      if (queue.length === 0) outcomes.delete(socket)
      return o
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
  /** Hands the connection's socket (its unread bytes already put back) to node:http, with the outcomes of the requests it begins with. */
  handOver(c: Connection<T>, served: RawOutcome[]): void
  /** The connection ended or was destroyed while the front read it. */
  forget(c: Connection<T>): void
}

const CLOSE = 'Connection: close\r\n\r\n'

/** A request the front is serving: its bytes, and its outcome once settled. */
interface InFlight {
  readonly bytes: Buffer
  outcome: RawOutcome | undefined
}

/** One connection the front reads, until it hands it over or it ends. */
class Connection<T> {
  readonly socket: Socket
  readonly #front: Front<T>
  /** Bytes read and not yet served (from the start of a request), or null. */
  #pending: Buffer | null = null
  /** When the first byte of the pending request came (ms, performance.now()). */
  #since = 0
  /** Requests being served, in order (answers are written from the first). */
  readonly #inFlight: InFlight[] = []
  /** The pending request is not one the front serves: node:http takes over once those in flight are answered. */
  #stopped = false
  /** An answer failed: node:http takes over once every request in flight settled. */
  #failed = false
  /** The client ended its side. */
  #ended = false
  /** The front no longer reads this connection (handed over, or gone). */
  #done = false

  readonly #onData = (chunk: Buffer): void => this.#data(chunk)
  readonly #onEnd = (): void => this.#end()
  readonly #onTimeout = (): void => this.close()
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

  /**
   * Closes the connection if idle (also when idle past the keep-alive
   * timeout, as node:http closes it); one with requests in flight closes
   * after their answers; a part-read request goes to node:http.
   */
  close(): void {
    if (this.#done || this.#inFlight.length > 0) return
    if (this.#pending !== null) {
      this.#handOver([])
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
    if (!this.#stopped && !this.#failed) this.#read()
    // A client that sends on without reading answers: the socket holds the rest until they are written.
    if (this.#pending !== null && this.#pending.length > MAX_HEAD + this.#front.maxBody) this.socket.pause()
  }

  /** Serves the complete requests the pending bytes begin with, while they are the front's and there is room. */
  #read(): void {
    const front = this.#front
    while (this.#pending !== null && this.#inFlight.length < MAX_IN_FLIGHT) {
      const b = this.#pending
      if (front.closed()) {
        this.#leave()
        return
      }
      const end = b.indexOf(HEAD_END)
      if (end < 0) {
        if (b.length > MAX_HEAD || !plausiblePrefix(b) || this.#late()) this.#leave()
        return
      }
      if (end + 4 > MAX_HEAD) {
        this.#leave()
        return
      }
      const head = parseHead(b, end)
      if (head === undefined || head.contentLength > front.maxBody) {
        this.#leave()
        return
      }
      const accepted = front.routes.accept(head)
      if (accepted === undefined) {
        this.#leave()
        return
      }
      const total = end + 4 + Math.max(head.contentLength, 0)
      if (b.length < total) {
        if (this.#late()) this.#leave()
        return
      }
      const answer = front.routes.serve(accepted, b.subarray(end + 4, total))
      if (answer === undefined) {
        this.#leave()
        return
      }
      // The request's bytes are kept until its answer is written: a failed answer hands them to node:http.
      const request: InFlight = { bytes: b.subarray(0, total), outcome: undefined }
      this.#inFlight.push(request)
      this.#pending = b.length > total ? b.subarray(total) : null
      this.#since = performance.now()
      answer.then(
        (a) => this.#settle(request, checked(a)),
        (error: unknown) => this.#settle(request, { error }),
      )
    }
  }

  /** Leaves the pending request, and the rest of the connection, to node:http: now, or once the requests in flight are answered. */
  #leave(): void {
    this.#stopped = true
    if (this.#inFlight.length === 0) this.#handOver([])
  }

  #settle(request: InFlight, outcome: RawOutcome): void {
    request.outcome = outcome
    if (this.#done) return
    const inFlight = this.#inFlight
    // Answers in order, from the first, while they are answers.
    while (!this.#failed) {
      const first = inFlight[0]
      if (first?.outcome === undefined) break
      if (!('answer' in first.outcome)) {
        this.#failed = true
        break
      }
      inFlight.shift()
      this.#write(first.outcome.answer, inFlight.length === 0 && this.#pending === null)
    }
    if (this.#failed) {
      if (inFlight.some((r) => r.outcome === undefined)) return
      if (this.#ended) {
        // Bytes cannot be put back on a stream that ended: the connection closes without these
        // answers, as node:http closes it when a client ends its side before its answers.
        this.#stop()
        this.socket.destroy()
        return
      }
      this.#handOver(inFlight.map((r) => r.outcome as RawOutcome))
      return
    }
    if (inFlight.length > 0) {
      if (!this.#stopped) this.#read()
      return
    }
    // Every answer written.
    if (this.#stopped) {
      this.#handOver([])
      return
    }
    if (this.#front.closed() || this.#ended) {
      this.#stop()
      if (this.#pending === null) this.socket.end()
      else this.socket.destroy()
      return
    }
    if (this.socket.isPaused()) this.socket.resume()
    this.#read()
  }

  /** Writes one answer; the last before the connection closes (the front closed, or the client ended) says so. */
  #write(a: RawAnswer, last: boolean): void {
    const closing = last && (this.#front.closed() || this.#ended)
    let head = 'HTTP/1.1 200 OK\r\n'
    if (a.headers !== undefined) for (const [name, value] of a.headers) head += `${name}: ${value}\r\n`
    head += `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(a.body)}\r\nDate: ${utcDate()}\r\n${closing ? CLOSE : this.#front.keepAlive}`
    this.socket.write(head + a.body)
    a.written?.()
  }

  /** True when the pending request has been arriving for longer than the headers timeout. */
  #late(): boolean {
    return performance.now() - this.#since > this.#front.deadlines.headersTimeoutMs
  }

  #end(): void {
    this.#ended = true
    // With requests in flight, the connection ends after their answers.
    if (this.#done || this.#inFlight.length > 0) return
    // A part-read request at the end of the stream is never answered (node:http would see it cut short too).
    this.#stop()
    if (this.#pending === null) this.socket.end()
    else this.socket.destroy()
  }

  #gone(): void {
    if (this.#done) return
    this.#stop()
    this.socket.destroy()
  }

  /**
   * Stops reading the connection: listeners and timer removed, forgotten by
   * the front. A socket the front closes itself (not `handedOver`) keeps a
   * listener that ignores its errors: a client that resets the connection
   * while the last answer or the close is written is the client's fault,
   * not the process's (an 'error' with no listener would end the process).
   */
  #stop(handedOver = false): void {
    this.#done = true
    const s = this.socket
    s.removeListener('data', this.#onData)
    s.removeListener('end', this.#onEnd)
    s.removeListener('timeout', this.#onTimeout)
    s.removeListener('error', this.#onGone)
    s.removeListener('close', this.#onGone)
    if (!handedOver) s.on('error', ignore)
    s.setTimeout(0)
    this.#front.forget(this)
  }

  /** Hands the socket to node:http: the requests in flight (all settled, with `served` their outcomes) and the pending bytes put back first. */
  #handOver(served: RawOutcome[]): void {
    const bytes = [...this.#inFlight.map((r) => r.bytes), ...(this.#pending === null ? [] : [this.#pending])]
    this.#inFlight.length = 0
    this.#pending = null
    // node:http listens for the socket's errors from now on.
    this.#stop(true)
    const s = this.socket
    // Put back before node:http listens: its first 'data' is these bytes, then what the socket
    // holds (it flows again from the next tick; nothing is emitted in between).
    if (bytes.length > 0) s.unshift(bytes.length === 1 ? (bytes[0] as Buffer) : Buffer.concat(bytes))
    s.resume()
    this.#front.handOver(this, served)
  }
}

/** Ignores an error of a socket the front closed itself (see `#stop`). */
function ignore(): void {}

/**
 * `a` as an outcome: its answer, or an error when a header of it is one
 * node:http would refuse (nothing is written then: the server's error
 * handler answers instead). Pure.
 */
function checked(a: RawAnswer): RawOutcome {
  if (a.headers !== undefined)
    for (const [name, value] of a.headers)
      if (!TOKEN_RE.test(name) || !VALUE_RE.test(value))
        return { error: new TypeError(`invalid answer header ${JSON.stringify(name)}`) }
  return { answer: a }
}

/**
 * Writes a raw answer on node:http's response, with the status, headers and
 * body the front writes: an answer the front settled before it handed the
 * connection over (a {@link RawOutcome}'s `answer`), or one a server's
 * `request` listener made itself. Throws as `writeHead` does when a header is
 * one node:http refuses (nothing is written then, and `written` is not
 * called); an answer the front settled had its headers checked.
 */
export function writeAnswer(res: ServerResponse, a: RawAnswer): void {
  const headers: Record<string, string | number> = {}
  for (const [name, value] of a.headers ?? []) headers[name] = value
  headers['content-type'] = 'application/json; charset=utf-8'
  headers['content-length'] = Buffer.byteLength(a.body)
  res.writeHead(200, headers)
  res.end(a.body)
  a.written?.()
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
