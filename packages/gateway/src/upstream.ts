// One HTTP exchange with one node over its keep-alive undici Pool. No retry,
// no routing: that is forward.ts. Everything a node sends back is untrusted.

import { Pool } from 'undici'

/** Largest node answer read, bytes; a bigger one is a failed attempt (a state of every counter can be big). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024

/** One request to a node. */
export interface UpstreamRequest {
  readonly method: 'GET' | 'POST'
  /** Path and query, e.g. `/counters/a/increment?consistency=quorum`. */
  readonly path: string
  /** JSON body (POST only). */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Time budget of this one attempt, ms (connect + headers + body). */
  readonly timeoutMs: number
}

/** A node answered with an HTTP status and (maybe) a JSON body. */
export interface UpstreamAnswer {
  readonly status: number
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  readonly json: unknown
  /** The body as read (e.g. Prometheus text, which is not JSON). */
  readonly text: string
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

/** Creates the connection pool for one node origin. `timeoutMs` bounds connect, headers and body waits. */
export function createPool(origin: string, timeoutMs: number): Pool {
  return new Pool(origin, {
    connections: 128,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // A node answer larger than this fails the attempt instead of filling memory.
    maxResponseSize: MAX_ANSWER_BYTES,
  })
}

function classifyError(err: unknown, aborted: boolean): UpstreamError {
  const code = (err as { code?: unknown })?.code
  const msg = err instanceof Error ? err.message : String(err)
  if (aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamError('timeout', 'timed out')
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamError('connect', 'connect timed out')
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UpstreamError('connect', `${String(code)}`)
  }
  return new UpstreamError('network', typeof code === 'string' ? `${code}: ${msg}` : msg)
}

/**
 * Sends one request on `pool` and reads the whole answer. Resolves with the
 * status and parsed JSON for any HTTP status; rejects with
 * {@link UpstreamError} on connection failure, reset or timeout. Never
 * retries. `connect` failures are the only ones where the node surely did
 * not receive the request.
 */
export async function send(pool: Pool, req: UpstreamRequest): Promise<UpstreamAnswer> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), req.timeoutMs)
  try {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers }
    let body: string | undefined
    if (req.body !== undefined) {
      body = JSON.stringify(req.body)
      headers['content-type'] = 'application/json'
    }
    const res = await pool.request({
      method: req.method,
      path: req.path,
      headers,
      body: body ?? null,
      signal: ac.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    })
    const text = await res.body.text()
    let json: unknown
    if (text !== '') {
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
    }
    return { status: res.statusCode, json, text }
  } catch (err) {
    if (err instanceof UpstreamError) throw err
    throw classifyError(err, ac.signal.aborted)
  } finally {
    clearTimeout(timer)
  }
}
