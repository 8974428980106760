// What a server needs to answer its busiest requests straight from Node's
// HTTP server, ahead of fastify: the request listener taken over (fastify's
// handler keeps every other request), the plain counter write a request line
// names, and the headers such a write must carry. The node's hot writes and
// the gateway's hot routes both build on it; the body comes from
// read-body.ts, plain-amount.ts reads it, and replayed-request.ts and
// handed-over.ts give fastify what they do not answer.

import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'

/** Node's `request` listener signature (fastify's handler is one). */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Removes `server`'s one `request` listener (the fastify app's handler) and
 * returns it, for a listener of the caller's that passes it every request
 * it does not answer. Call once, after the fastify app is created and before
 * it listens. Throws TypeError when the server does not have exactly one
 * `request` listener.
 */
export function takeRequests(server: Server): RequestHandler {
  const listeners = server.listeners('request') as RequestHandler[]
  const fastify = listeners[0]
  if (listeners.length !== 1 || fastify === undefined)
    throw new TypeError(`serving ahead of fastify needs its one request listener, found ${listeners.length}`)
  server.removeListener('request', fastify)
  return fastify
}

// A name segment that reads the same raw and decoded (no `%`), not `.` or `..` (which URL layers resolve).
const PLAIN_SEGMENT = /^(?!\.\.?$)[A-Za-z0-9._~-]+$/
const COUNTERS = '/counters/'

/**
 * True when a URL path segment reads the same raw and percent-decoded and is
 * not `.` or `..`: a counter name in it needs no decoding. The caller still
 * checks the name against the counter name rules. Pure.
 */
export function isPlainSegment(segment: string): boolean {
  return PLAIN_SEGMENT.test(segment)
}

/** A plain counter write a request line names: its operation, and its counter's name (undefined: the default counter). */
export interface PlainWrite {
  readonly op: 'increment' | 'decrement'
  /** A plain segment (isPlainSegment), not yet checked against the name rules; undefined for `/increment|/decrement`. */
  readonly name: string | undefined
}

const INCREMENT: PlainWrite = { op: 'increment', name: undefined }
const DECREMENT: PlainWrite = { op: 'decrement', name: undefined }

/**
 * The write `POST /increment|/decrement` or `POST
 * /counters/:name/increment|decrement` names, the name a plain segment and
 * no query string; undefined for any other request line. Pure.
 */
export function plainWrite(method: string | undefined, url: string | undefined): PlainWrite | undefined {
  if (method !== 'POST' || url === undefined) return undefined
  if (url === '/increment') return INCREMENT
  if (url === '/decrement') return DECREMENT
  if (!url.startsWith(COUNTERS)) return undefined
  const slash = url.indexOf('/', COUNTERS.length)
  if (slash < 0) return undefined
  const op = url.slice(slash + 1)
  if (op !== 'increment' && op !== 'decrement') return undefined
  const name = url.slice(COUNTERS.length, slash)
  return isPlainSegment(name) ? { op, name } : undefined
}

/**
 * The body length of a plain write's headers: `Content-Type:
 * application/json` exactly, a `Content-Length` of at most `bodyLimit` bytes
 * and no `Transfer-Encoding`; undefined otherwise (fastify answers those). Pure.
 */
export function plainWriteLength(h: IncomingHttpHeaders, bodyLimit: number): number | undefined {
  if (h['content-type'] !== 'application/json' || h['transfer-encoding'] !== undefined) return undefined
  const length = Number(h['content-length'] ?? Number.NaN)
  return length <= bodyLimit ? length : undefined
}
