// The gateway's reads to one node: GET requests pipelined on a few
// persistent HTTP/1.1 connections of its own, without undici. Requests made
// in one turn of the event loop leave in one write per connection; the
// answers are split by a small parser (response-parser.ts) and handed back
// as the node's raw text. A second channel per node carries plain-level
// counter writes (see below); other writes, health checks and stats polls
// go through the node's undici pool (upstream.ts).
//
// Requests are written at the end of the turn (turn-end.ts), so read
// coalescing may still add readers to a request made earlier in that turn.
//
// Answers come back in request order, so a request whose time is up takes
// its connection down with it (an answer may still be on its way); the other
// reads in flight on that connection are re-sent once on another connection
// (a GET is safe to repeat), as undici does with idempotent requests.
//
// The same channel carries plain-level keyed writes when a node has one for
// writes (`post`): a write is never re-sent by the channel. A connection lost
// with a write in flight fails that write (`connect` if the connection never
// opened, else `network`: the node may have applied it), and failover
// retries it on another node with the same Idempotency-Key, as with undici.

import { connect, type Socket } from 'node:net'
import { AnswerParseError, type ParsedAnswer, ResponseParser } from './response-parser.js'
import { atSend } from './turn-end.js'
import { MAX_ANSWER_BYTES, parseAnswer, type UpstreamAnswer, UpstreamError } from './upstream.js'

/** Reads in flight on one connection before another one is opened. */
export const READ_DEPTH = 32

/** Most connections of one channel. */
export const READ_CONNECTIONS = 16

/** An idle connection is closed after this long, ms (shorter than a node's keep-alive timeout). */
export const READ_IDLE_MS = 4000

/** Options of a {@link ReadChannel}. */
export interface ReadChannelOptions {
  /** How long a connection with nothing in flight stays open, ms (default {@link READ_IDLE_MS}). */
  readonly idleMs?: number
}

// A request target the gateway may send as is: origin-form, printable ASCII without spaces.
const PATH = /^\/[\x21-\x7e]*$/
// A header name the gateway may send as is (an HTTP token) and a value (printable ASCII, no CR/LF).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const PRINTABLE = /^[\x20-\x7e]*$/

interface Pending {
  readonly head: string
  readonly resolve: (a: UpstreamAnswer) => void
  readonly reject: (e: UpstreamError) => void
  /** `performance.now()` past which the read has failed. */
  readonly deadline: number
  conn: Conn | undefined
  /** May not be sent again (a write, or a read already re-sent once). */
  resent: boolean
  done: boolean
}

interface Conn {
  readonly socket: Socket
  readonly parser: ResponseParser
  /** Sent (or about to be sent this turn), not yet answered, in order. */
  readonly queue: Pending[]
  /** Request heads written this turn, sent together when the turn ends. */
  out: string
  connected: boolean
  /** `performance.now()` when its queue last became empty (or it opened). */
  idleSince: number
  /** False once the node said `Connection: close` or the socket failed: no new requests. */
  usable: boolean
  closed: boolean
  error: Error | undefined
}

/**
 * Pipelined GETs ({@link ReadChannel.get}) or plain-level writes
 * ({@link ReadChannel.post}) to one node origin (`http://host:port`); a
 * node has one channel for each, so a write waiting for its fsync never
 * holds up a read. Each request has its own time budget; answers of any
 * status resolve, with their raw text. Not thread-safe (one event loop).
 */
export class ReadChannel {
  readonly #host: string
  readonly #port: number
  readonly #hostHeader: string
  readonly #conns: Conn[] = []
  readonly #dirty: Conn[] = []
  #flushScheduled = false
  #inflight = 0
  // One timer for every read in flight, armed for the earliest deadline (no timer per read).
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  // One timer for the whole channel closes idle connections (no socket timeout refreshed on every read and write).
  readonly #idleMs: number
  #idleTimer: NodeJS.Timeout | undefined
  #closing: (() => void) | undefined
  #closed: Promise<void> | undefined

  /** `origin`: an `http:` origin. Throws TypeError for any other, RangeError for an `idleMs` that is not a positive number. */
  constructor(origin: string, opts: ReadChannelOptions = {}) {
    const idleMs = opts.idleMs ?? READ_IDLE_MS
    if (!(idleMs > 0)) throw new RangeError(`idleMs must be a positive number of ms, got ${idleMs}`)
    this.#idleMs = idleMs
    const u = new URL(origin)
    if (u.protocol !== 'http:') throw new TypeError(`ReadChannel needs an http: origin, got ${origin}`)
    this.#host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
    this.#port = u.port === '' ? 80 : Number(u.port)
    this.#hostHeader = u.host
  }

  /** Connections open (or opening) now. */
  get connections(): number {
    return this.#conns.length
  }

  /**
   * Sends `GET path` and reads the whole answer. Resolves with the status,
   * raw body text and parsed JSON for any HTTP status; rejects with
   * {@link UpstreamError}: `connect` when no connection could be made (the
   * node surely did not get the request), `timeout` when `timeoutMs` passed
   * first (connecting and queueing included), `network` when the
   * connection failed after a re-send or the answer was malformed.
   */
  get(path: string, timeoutMs: number): Promise<UpstreamAnswer> {
    if (!PATH.test(path)) return badRequest(`not a request target: ${JSON.stringify(path)}`)
    return this.#request(
      `GET ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\naccept: application/json\r\n\r\n`,
      timeoutMs,
      true,
    )
  }

  /**
   * Sends `POST path` with `headers` and the JSON `body`, pipelined like
   * {@link get}, and reads the whole answer; resolves and rejects as
   * {@link get} does, except that the request is never sent twice: when its
   * connection is lost before its answer, it rejects (`connect` if the
   * connection never opened: the node surely did not get it; else
   * `network`: it may have been applied). Rejects with `connect` at once,
   * sending nothing, when the path, a header or the body (after
   * `JSON.stringify`; printable ASCII only) cannot be sent as is.
   */
  post(
    path: string,
    headers: Readonly<Record<string, string>>,
    body: unknown,
    timeoutMs: number,
  ): Promise<UpstreamAnswer> {
    if (!PATH.test(path)) return badRequest(`not a request target: ${JSON.stringify(path)}`)
    const text = JSON.stringify(body)
    // Sent as latin1 bytes: printable ASCII only, so its length is its byte count (JSON escapes control characters).
    if (text === undefined || !PRINTABLE.test(text)) return badRequest('the body is not plain ASCII JSON')
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\naccept: application/json\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\n`
    for (const name in headers) {
      const value = headers[name] as string
      if (!HEADER_NAME.test(name) || !PRINTABLE.test(value))
        return badRequest(`header ${JSON.stringify(name)} cannot be sent as is`)
      head += `${name}: ${value}\r\n`
    }
    return this.#request(`${head}\r\n${text}`, timeoutMs, false)
  }

  // `resend`: the request may be sent once more when its connection is lost (reads only).
  #request(head: string, timeoutMs: number, resend: boolean): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) {
        reject(new UpstreamError('connect', 'connection to the node is closed'))
        return
      }
      const p: Pending = {
        head,
        resolve,
        reject,
        deadline: performance.now() + timeoutMs,
        conn: undefined,
        resent: !resend,
        done: false,
      }
      this.#inflight++
      if (p.deadline < this.#timerAt) this.#arm(p.deadline)
      this.#dispatch(p)
    })
  }

  /** Stops taking requests; resolves once those in flight have settled and every connection is closed. Never rejects. */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closed = new Promise((resolve) => {
        this.#closing = resolve
      })
      this.#maybeFinishClose()
    }
    return this.#closed
  }

  #dispatch(p: Pending): void {
    const conn = this.#pick()
    p.conn = conn
    conn.queue.push(p)
    if (conn.out === '') {
      this.#dirty.push(conn)
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        atSend(this.#flush)
      }
    }
    conn.out += p.head
  }

  // Fill one connection before opening the next, so one turn's reads share one write.
  #pick(): Conn {
    let least: Conn | undefined
    for (const c of this.#conns) {
      if (!c.usable) continue
      if (c.queue.length < READ_DEPTH) return c
      if (least === undefined || c.queue.length < least.queue.length) least = c
    }
    if (least === undefined || this.#conns.length < READ_CONNECTIONS) return this.#open()
    return least
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false
    for (const c of this.#dirty) {
      const out = c.out
      c.out = ''
      if (!c.closed && out !== '') c.socket.write(out, 'latin1')
    }
    this.#dirty.length = 0
  }

  #open(): Conn {
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true })
    const conn: Conn = {
      socket,
      parser: new ResponseParser(MAX_ANSWER_BYTES),
      queue: [],
      out: '',
      connected: false,
      idleSince: performance.now(),
      usable: true,
      closed: false,
      error: undefined,
    }
    this.#conns.push(conn)
    socket.on('connect', () => {
      conn.connected = true
    })
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk))
    socket.on('error', (err) => {
      conn.error ??= err
    })
    socket.on('close', () => this.#onClose(conn))
    return conn
  }

  #onData(conn: Conn, chunk: Buffer): void {
    try {
      conn.parser.push(chunk, (a) => this.#onAnswer(conn, a))
    } catch (err) {
      conn.error ??= err instanceof AnswerParseError ? err : new Error(String(err))
      conn.usable = false
      conn.socket.destroy()
    }
  }

  #onAnswer(conn: Conn, a: ParsedAnswer): void {
    const p = conn.queue.shift()
    if (p === undefined) throw new AnswerParseError('an answer to no request')
    if (a.close) conn.usable = false
    if (!p.done) {
      const text = a.body.toString()
      this.#settle(p)
      p.resolve({ status: a.status, text, json: parseAnswer(text) })
    }
    if (conn.queue.length === 0) {
      if (!conn.usable) conn.socket.destroy()
      else {
        conn.idleSince = performance.now()
        if (this.#idleTimer === undefined) this.#armIdle(this.#idleMs)
      }
    }
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(this.#closeIdle, ms)
    // Never what keeps the process alive: an open connection does that while it lasts.
    this.#idleTimer.unref()
  }

  // Closes the connections idle for `idleMs` or more; re-arms for the next one to become so.
  readonly #closeIdle = (): void => {
    this.#idleTimer = undefined
    const now = performance.now()
    let next = Number.POSITIVE_INFINITY
    for (const c of [...this.#conns]) {
      if (c.queue.length > 0 || !c.usable) continue
      const at = c.idleSince + this.#idleMs
      if (at <= now) {
        c.usable = false
        c.socket.destroy()
      } else if (at < next) next = at
    }
    if (next < Number.POSITIVE_INFINITY) this.#armIdle(next - now)
  }

  // The connection is gone: what it still owed is re-sent once elsewhere, or fails.
  #onClose(conn: Conn): void {
    conn.closed = true
    conn.usable = false
    const i = this.#conns.indexOf(conn)
    if (i >= 0) this.#conns.splice(i, 1)
    const owed = conn.queue.splice(0)
    for (const p of owed) {
      if (p.done) continue
      if (!conn.connected) {
        const code = (conn.error as { code?: unknown } | undefined)?.code
        this.#settle(p)
        p.reject(new UpstreamError('connect', typeof code === 'string' ? code : 'connection failed'))
      } else if (!p.resent && this.#closed === undefined) {
        p.resent = true
        this.#dispatch(p)
      } else {
        this.#settle(p)
        p.reject(new UpstreamError('network', describe(conn.error)))
      }
    }
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - performance.now()))
  }

  // Fails every read past its deadline, then re-arms for the earliest one left.
  readonly #sweep = (): void => {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = performance.now()
    const late: Pending[] = []
    let next = Number.POSITIVE_INFINITY
    for (const c of this.#conns) {
      for (const p of c.queue) {
        if (p.done) continue
        if (p.deadline <= now) late.push(p)
        else if (p.deadline < next) next = p.deadline
      }
    }
    for (const p of late) this.#timeout(p)
    if (next < Number.POSITIVE_INFINITY && this.#inflight > 0) this.#arm(next)
  }

  #timeout(p: Pending): void {
    if (p.done) return
    const conn = p.conn
    const connecting = conn !== undefined && !conn.connected
    this.#settle(p)
    p.reject(
      new UpstreamError(connecting ? 'connect' : 'timeout', connecting ? 'connect timed out' : 'timed out'),
    )
    // Its answer may still come, ahead of the others': the connection cannot be trusted to line up.
    if (conn !== undefined && !conn.closed) {
      conn.usable = false
      conn.socket.destroy()
    }
  }

  #settle(p: Pending): void {
    p.done = true
    this.#inflight--
    this.#maybeFinishClose()
  }

  #maybeFinishClose(): void {
    if (this.#closed === undefined || this.#inflight > 0) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    for (const c of this.#conns.splice(0)) {
      c.usable = false
      c.socket.destroy()
    }
    const done = this.#closing
    this.#closing = undefined
    done?.()
  }
}

function badRequest(message: string): Promise<UpstreamAnswer> {
  return Promise.reject(new UpstreamError('connect', message))
}

function describe(err: Error | undefined): string {
  if (err === undefined) return 'connection closed by the node'
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message
}
