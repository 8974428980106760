// One HTTP exchange with one node over its keep-alive, pipelined undici Pool.
// No retry, no routing: that is forward.ts. Everything a node sends back is
// untrusted.
//
// The exchange is driven through undici's dispatcher handler interface, not
// `pool.request()`: no body stream, no AbortSignal, the answer collected as
// raw bytes. That is most of the gateway's cost per request (see the README's
// Benchmark section).

import type { Socket } from 'node:net'
import { buildConnector, Pool } from 'undici'
import { atSend } from './turn-end.js'

/** Largest node answer read, bytes; a bigger one is a failed attempt (a state of every counter can be big). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024

/**
 * Reads in flight at once on one connection to a node (HTTP/1.1
 * pipelining). Only reads are pipelined on the pool: a write sent through it
 * goes alone on an idle connection and nothing is queued behind it, so a
 * write is never re-sent by the pool (a connection lost with a write in
 * flight fails that attempt, as without pipelining) and a write waiting for
 * its fsync or quorum never holds up reads or health checks. (Plain-level
 * counter writes go on the node's own write channel instead: read-channel.ts.)
 */
export const PIPELINING = 8

/** Connections per node pool. */
export const POOL_CONNECTIONS = 128

/** One request to a node. */
export interface UpstreamRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path and query, e.g. `/counters/a/increment?consistency=quorum`. */
  readonly path: string
  /** JSON body (POST and PUT only). */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /**
   * A `POST` that may go on the node's pipelined write channel (read-channel.ts)
   * instead of this pool: set for plain-level counter writes only (they answer
   * at once, after their fsync; a quorum/all write waits for acks and would
   * hold up the writes pipelined behind it).
   */
  readonly pipelined?: boolean
  /** Time budget of this one attempt, ms (queueing + connect + headers + body). */
  readonly timeoutMs: number
}

/** A node answered with an HTTP status and a body. */
export interface UpstreamAnswer {
  readonly status: number
  /** The body as received (UTF-8). */
  readonly text: string
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  readonly json: unknown
}

/** The attempt failed before a complete answer: `kind` says how (timeouts and resets are ambiguous for writes). */
export class UpstreamError extends Error {
  readonly kind: 'connect' | 'timeout' | 'network'
  constructor(kind: 'connect' | 'timeout' | 'network', message: string) {
    super(message)
    this.name = 'UpstreamError'
    this.kind = kind
  }
}

/**
 * Makes `socket` send everything written to it during one turn of the event
 * loop in one go: the first write of a turn corks it, and it is uncorked
 * (flushed, one `writev`) at the end of that same turn ({@link atSend}). undici writes
 * each request on its own; with this the requests pipelined on a connection
 * in one turn leave in one syscall, and the node reads them in one `read`
 * and answers them together. Order and backpressure are the socket's own.
 * Returns `socket`.
 */
export function coalesceWrites<S extends Pick<Socket, 'write' | 'cork' | 'uncork'>>(socket: S): S {
  const write = socket.write
  let corked = false
  const flush = (): void => {
    corked = false
    socket.uncork()
  }
  socket.write = function (this: S, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true
      socket.cork()
      atSend(flush)
    }
    return (write as (...a: unknown[]) => boolean).apply(socket, args)
  } as S['write']
  return socket
}

/**
 * Creates the connection pool for one node origin. `timeoutMs` bounds
 * connect, headers and body waits; `connections` (default
 * {@link POOL_CONNECTIONS}) bounds the connections. Writes to each
 * connection are coalesced per event-loop turn ({@link coalesceWrites}).
 */
export function createPool(origin: string, timeoutMs: number, connections = POOL_CONNECTIONS): Pool {
  const connect = buildConnector({ timeout: timeoutMs })
  return new Pool(origin, {
    connect: (opts, done) =>
      connect(opts, (err, socket) => {
        if (err !== null) done(err, null)
        else done(null, coalesceWrites(socket))
      }),
    connections,
    pipelining: PIPELINING,
    keepAliveTimeout: 30_000,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // A node answer larger than this fails the attempt instead of filling memory.
    maxResponseSize: MAX_ANSWER_BYTES,
  })
}

function classifyError(err: unknown, timedOut: boolean): UpstreamError {
  if (err instanceof UpstreamError) return err
  const code = (err as { code?: unknown })?.code
  const msg = err instanceof Error ? err.message : String(err)
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamError('timeout', 'timed out')
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamError('connect', 'connect timed out')
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UpstreamError('connect', `${String(code)}`)
  }
  return new UpstreamError('network', typeof code === 'string' ? `${code}: ${msg}` : msg)
}

/** Parses a node's body: undefined when empty or not JSON. Never throws. */
export function parseAnswer(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const TIMED_OUT = new UpstreamError('timeout', 'timed out')

// One exchange as an undici dispatch handler (the dispatcher's own callback
// interface: onConnect, onHeaders, onData, onComplete, onError). Settles once.
class Exchange {
  readonly #resolve: (a: UpstreamAnswer) => void
  readonly #reject: (e: UpstreamError) => void
  readonly #timer: NodeJS.Timeout
  #abort: ((err: Error) => void) | undefined
  #chunks: Buffer[] = []
  #status = 0
  #done = false
  #timedOut = false

  constructor(resolve: (a: UpstreamAnswer) => void, reject: (e: UpstreamError) => void, timeoutMs: number) {
    this.#resolve = resolve
    this.#reject = reject
    // The whole attempt, queueing in the pool included (undici's own timeouts start later).
    this.#timer = setTimeout(() => this.#timeout(), timeoutMs)
  }

  #timeout(): void {
    this.#timedOut = true
    if (this.#abort) this.#abort(TIMED_OUT)
    else this.#settle(undefined, TIMED_OUT)
  }

  #settle(answer: UpstreamAnswer | undefined, err?: UpstreamError): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    if (answer) this.#resolve(answer)
    else this.#reject(err ?? TIMED_OUT)
  }

  onConnect(abort: (err: Error) => void): void {
    if (this.#done) abort(TIMED_OUT)
    else this.#abort = abort
  }

  onHeaders(status: number): boolean {
    this.#status = status
    return true
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk)
    return true
  }

  onComplete(): void {
    const c = this.#chunks
    const text = c.length === 1 ? (c[0] as Buffer).toString() : Buffer.concat(c).toString()
    this.#settle({ status: this.#status, text, json: parseAnswer(text) })
  }

  onError(err: Error): void {
    this.#settle(undefined, classifyError(err, this.#timedOut))
  }
}

/**
 * Sends one request on `pool` and reads the whole answer. Resolves with the
 * status, raw body and parsed JSON for any HTTP status; rejects with
 * {@link UpstreamError} on connection failure, reset or timeout (the whole
 * attempt, queueing included, is bounded by `req.timeoutMs`). Never
 * retries. `connect` failures are the only ones where the node surely did
 * not receive the request.
 */
export function send(pool: Pool, req: UpstreamRequest): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers }
    let body: string | null = null
    if (req.body !== undefined) {
      body = JSON.stringify(req.body)
      headers['content-type'] = 'application/json'
    }
    const write = req.method !== 'GET'
    const ex = new Exchange(resolve, reject, req.timeoutMs)
    try {
      pool.dispatch(
        {
          method: req.method,
          path: req.path,
          headers,
          body,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
          // Reads are pipelined (re-sent by the pool if their connection drops: harmless).
          // A write is sent alone on an idle connection with nothing behind it (see PIPELINING).
          idempotent: !write,
          blocking: write,
        },
        ex,
      )
    } catch (err) {
      ex.onError(err as Error)
    }
  })
}

/**
 * A node's JSON object answer with `"node": <nodeId>` added as its last
 * field, spliced into the raw text (no re-serialisation). `text` must be the
 * body whose parse is a JSON object (as {@link send}'s `json` says); a
 * `node` field the node sent itself is overridden, as with `{ ...json, node }`.
 */
export function withNode(text: string, nodeId: string): string {
  const end = text.lastIndexOf('}')
  const head = text.slice(0, end).trimEnd()
  const sep = head.endsWith('{') ? '' : ','
  return `${head}${sep}"node":${JSON.stringify(nodeId)}}`
}
