// The gateway's busiest routes served ahead of fastify's routing, hooks,
// body parser and reply: a plain read (`GET /counter`, `GET /counters/:name`)
// and a plain-level write (`POST /increment|/decrement`, `POST
// /counters/:name/increment|decrement` with the body `{"amount":n}`). Two
// ways in, with the same answers: kit's raw front reads each new
// connection's bytes itself and answers such a request in its strict form of
// HTTP/1.1 without node:http's request and response objects, handing the
// first request it does not answer and the rest of that connection to
// node:http (kit raw-front.ts); on a connection node:http reads, the
// `request` listener answers such a request ahead of fastify's handler.
// Everything else, and every such request that is not in its simplest form
// (a query string, a name that needs decoding, any other content type or
// body, a bad Idempotency-Key, no Host, the gateway closing), goes to
// fastify untouched (a write's body replayed), so the answers, errors and
// headers are fastify's own. A hot request that fails after it was sent to a
// node is handed to fastify with its error (kit's handOverWith): fastify's
// error handler answers it. Answers are counted in the same request metric
// as fastify's.

import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { isValidName } from '@tally/crdt'
import {
  handOverWith,
  isPlainSegment,
  plainAmount,
  plainRawWriteLength,
  plainWrite,
  plainWriteLength,
  type RawAnswer,
  type RawFront,
  type RawHead,
  type RequestCounts,
  readBody,
  replayed,
  serveRaw,
  takeRequests,
  writeAnswer,
} from '@tally/kit'
import type { Served } from './forward.js'
import { type Gateway, nameSegment } from './gateway.js'
import { relayedText } from './routes/counters.js'
import { readIdempotencyKey } from './validate.js'

/** What the hot routes need from the app. */
export interface HotRoutesOptions {
  readonly gateway: Gateway
  /** The app's request metric (kit `countRequests`). */
  readonly counts: RequestCounts
  /** The app's body limit, bytes: a longer write goes to fastify (which refuses it). */
  readonly bodyLimit: number
  /** True once the app is closing: every request then goes to fastify (which answers 503). */
  readonly closing: () => boolean
}

const COUNTERS = '/counters/'

/** A hot route's node path and metric route, or undefined for anything fastify must serve. Pure. */
export function hotRoute(
  method: string | undefined,
  url: string | undefined,
):
  | { readonly write: 'increment' | 'decrement' | undefined; readonly path: string; readonly route: string }
  | undefined {
  if (url === undefined) return undefined
  if (method === 'GET') {
    if (url === '/counter') return { write: undefined, path: url, route: url }
    if (!url.startsWith(COUNTERS)) return undefined
    const name = url.slice(COUNTERS.length)
    if (!isPlainSegment(name) || !isValidName(name)) return undefined
    return { write: undefined, path: `${COUNTERS}${nameSegment(name)}`, route: '/counters/:name' }
  }
  const write = plainWrite(method, url)
  if (write === undefined) return undefined
  const { op, name } = write
  if (name === undefined) return { write: op, path: url, route: url }
  if (!isValidName(name)) return undefined
  return { write: op, path: `${COUNTERS}${nameSegment(name)}/${op}`, route: `/counters/:name/${op}` }
}

/** A hot request the raw front accepted by its head. */
interface RawRoute {
  readonly write: 'increment' | 'decrement' | undefined
  readonly path: string
  readonly route: string
  readonly key: string | undefined
}

/**
 * The hot route a raw head asks for (its line; for a write also its
 * `Content-Type`, length within `bodyLimit` and a well-formed
 * `Idempotency-Key` if any; a read has no body), or undefined for fastify. Pure.
 */
export function rawRoute(head: RawHead, bodyLimit: number): RawRoute | undefined {
  const hot = hotRoute(head.method, head.target)
  if (hot === undefined) return undefined
  const h = head.headers
  if (hot.write === undefined)
    return head.contentLength <= 0
      ? { write: undefined, path: hot.path, route: hot.route, key: undefined }
      : undefined
  if (plainRawWriteLength(head, bodyLimit) === undefined) return undefined
  try {
    // The front sends a repeated header to node:http: it is here once.
    return {
      write: hot.write,
      path: hot.path,
      route: hot.route,
      key: readIdempotencyKey(h.get('idempotency-key')),
    }
  } catch {
    // fastify's handler reads it again and answers the same refusal.
    return undefined
  }
}

/**
 * Puts the hot routes in front of `server`'s one `request` listener (the
 * fastify app's handler, which keeps every other request) and kit's raw
 * front on its connections. Call once, after the fastify app is created (its
 * timeouts set on the server) and before it listens. Throws TypeError when
 * the server does not have exactly one `request` and one `connection`
 * listener. Returns the raw front (closed with the app: `close()`).
 */
export function serveHotRoutes(server: Server, opts: HotRoutesOptions): RawFront {
  const fastify = takeRequests(server)
  const { gateway: gw, counts, bodyLimit, closing } = opts

  // A hot request's answer, on either way in: the node's answer relayed, counted once written.
  const answerOf = (served: Served, method: string, route: string): RawAnswer => ({
    body: relayedText(served),
    headers: [['x-tally-node', served.nodeId]],
    written: () => counts.count(method, route, 200),
  })

  const front = serveRaw<RawRoute>(
    server,
    {
      accept: (head) => (closing() ? undefined : rawRoute(head, bodyLimit)),
      serve(r, body) {
        if (r.write === undefined) return gw.read(r.path).then((served) => answerOf(served, 'GET', r.route))
        const amount = plainAmount(body)
        if (amount === undefined) return undefined
        return gw.write(r.path, amount, r.key, undefined).then((served) => answerOf(served, 'POST', r.route))
      },
    },
    { maxBody: bodyLimit },
  )

  const answer = (res: ServerResponse, served: Served, method: string, route: string): void =>
    writeAnswer(res, answerOf(served, method, route))

  // `raw` (the request or its replay) goes to fastify with `err`, whose error handler answers it.
  const handOver = (raw: IncomingMessage, res: ServerResponse, err: unknown): void => {
    handOverWith(raw, err)
    fastify(raw, res)
  }

  const read = (req: IncomingMessage, res: ServerResponse, path: string, route: string): void => {
    gw.read(path).then(
      (served) => {
        try {
          answer(res, served, 'GET', route)
        } catch (err) {
          // A header Node refuses (nothing was sent): fastify's error handler answers instead.
          handOver(req, res, err)
        }
      },
      (err: unknown) => handOver(req, res, err),
    )
  }

  const write = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    route: string,
    key: string | undefined,
    length: number,
  ): void => {
    readBody(req, length, (body) => {
      const amount = plainAmount(body)
      if (amount === undefined) return fastify(replayed(req, body), res)
      gw.write(path, amount, key, undefined).then(
        (served) => {
          try {
            answer(res, served, 'POST', route)
          } catch (err) {
            handOver(replayed(req, body), res, err)
          }
        },
        (err: unknown) => handOver(replayed(req, body), res, err),
      )
    })
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A request the raw front served before it handed the connection over (one that failed, and
    // those pipelined behind it): its answer is written, or fastify answers its error; never sent again.
    const served = front.takeOutcome(req.socket)
    if (served !== undefined) {
      if ('answer' in served) return writeAnswer(res, served.answer)
      return handOver(req, res, served.error)
    }
    const hot = hotRoute(req.method, req.url)
    if (hot === undefined || req.headers.host === undefined || closing()) return fastify(req, res)
    if (hot.write === undefined) return read(req, res, hot.path, hot.route)
    const h = req.headers
    const length = plainWriteLength(h, bodyLimit)
    if (length === undefined) return fastify(req, res)
    let key: string | undefined
    try {
      key = readIdempotencyKey(h['idempotency-key'], req.rawHeaders)
    } catch {
      return fastify(req, res)
    }
    write(req, res, hot.path, hot.route, key, length)
  })
  return front
}
