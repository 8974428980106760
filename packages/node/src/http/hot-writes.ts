// The node's write routes served ahead of fastify's routing, hooks, body
// parser, schema validation and reply: `POST /increment|/decrement` and `POST
// /counters/:name/increment|decrement` with the body `{"amount":n}`, no query
// string, `Content-Type: application/json`, a `Host` and a well-formed
// `Idempotency-Key`/`Tally-Attempt` if any. Two ways in, with the same
// answers:
//
// - kit's raw front reads each new connection's bytes itself and answers
//   such a write in its strict form of HTTP/1.1 without node:http's request
//   and response objects; the first request it does not answer, and the
//   rest of that connection, it hands to node:http (kit raw-front.ts);
// - on a connection node:http reads, the `request` listener answers such a
//   write from node:http's request, ahead of fastify's handler.
//
// Everything else, and every such request in another form (a query string, a
// name that needs decoding, any other content type or body, a bad header,
// the app closing), goes to fastify untouched (a write's body replayed), so
// its answers, errors and headers are fastify's own. A hot write the node
// refuses is handed to fastify with its error (kit's handOverWith): the
// route's handler throws it and the one error handler answers it, counted in
// the write series by the route's own hook. A hot write answered here is
// counted and timed in the same series, and in flight in the same load.

import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { isValidName } from '@tally/crdt'
import {
  handOverWith,
  plainAmount,
  plainRawWriteLength,
  plainWrite,
  plainWriteLength,
  type RawFront,
  type RawHead,
  readBody,
  replayed,
  serveRaw,
  takeRequests,
  writeAnswer,
} from '@tally/kit'
import type { TallyNode } from '../node.js'
import { readAttempt, readIdempotencyKey } from './headers.js'
import type { LoadTracker } from './load.js'
import type { WriteMetrics } from './metrics.js'

/** What the hot writes need from the app. */
export interface HotWritesOptions {
  readonly node: TallyNode
  /** The app's load tracker: a hot write is in flight from its body's end to its answer. */
  readonly load: LoadTracker
  /** The app's write series; undefined: not counted (as the fastify routes then). */
  readonly writes: WriteMetrics | undefined
  /** The app's body limit, bytes: a longer write goes to fastify (which refuses it). */
  readonly bodyLimit: number
  /** True once the app is closing: every request then goes to fastify (which answers 503). */
  readonly closing: () => boolean
}

/** A hot write: its operation and counter name. */
export interface HotWrite {
  readonly op: 'increment' | 'decrement'
  readonly name: string
}

const DEFAULT = 'default'

/** The write a request line asks for, or undefined for anything fastify must serve. Pure. */
export function hotWrite(method: string | undefined, url: string | undefined): HotWrite | undefined {
  const write = plainWrite(method, url)
  if (write === undefined) return undefined
  const { op, name } = write
  if (name === undefined) return { op, name: DEFAULT }
  return isValidName(name) ? { op, name } : undefined
}

/** A hot write the raw front accepted by its head: what to do and when it began. */
interface RawWrite {
  readonly hot: HotWrite
  readonly key: string | undefined
  readonly attempt: number
  readonly started: number
}

/**
 * The hot write a raw head asks for (its line, `Content-Type`, length within
 * `bodyLimit`, keyed-write headers), or undefined for fastify. Pure.
 */
export function rawWrite(head: RawHead, bodyLimit: number): RawWrite | undefined {
  const hot = hotWrite(head.method, head.target)
  if (hot === undefined) return undefined
  if (plainRawWriteLength(head, bodyLimit) === undefined) return undefined
  const h = head.headers
  try {
    // The front sends a repeated header to node:http: each is here once.
    const key = readIdempotencyKey(h.get('idempotency-key'))
    const attempt = readAttempt(h.get('tally-attempt'))
    return { hot, key, attempt, started: performance.now() }
  } catch {
    // fastify's handler reads them again and answers the same refusal.
    return undefined
  }
}

/**
 * Puts the hot writes in front of `server`'s one `request` listener (the
 * fastify app's handler, which keeps every other request) and kit's raw front
 * on its connections. Call once, after the fastify app is created (its
 * timeouts set on the server) and before it listens. Throws TypeError when
 * the server does not have exactly one `request` and one `connection`
 * listener. Returns the raw front (closed with the app: `close()`).
 */
export function serveHotWrites(server: Server, opts: HotWritesOptions): RawFront {
  const fastify = takeRequests(server)
  const { node, load, writes, bodyLimit, closing } = opts

  /** The node's answer to a hot write, as its JSON text; counted in the write series once answered. */
  const mutate = (
    hot: HotWrite,
    amount: number,
    key: string | undefined,
    attempt: number,
    started: number,
  ) => {
    load.begin()
    return node.mutate({ name: hot.name, op: hot.op, amount, key, attempt, consistency: 'one' }).then(
      (answer) => {
        load.end()
        // JSON.stringify, as fastify serialises a route's answer without a response schema.
        const text = JSON.stringify(answer)
        writes?.record(hot.op, 200, (performance.now() - started) / 1000)
        return text
      },
      (err: unknown) => {
        load.end()
        throw err
      },
    )
  }

  const front = serveRaw<RawWrite>(
    server,
    {
      accept: (head) => (closing() ? undefined : rawWrite(head, bodyLimit)),
      serve(w, body) {
        const amount = plainAmount(body)
        if (amount === undefined) return undefined
        return mutate(w.hot, amount, w.key, w.attempt, w.started).then((text) => ({ body: text }))
      },
    },
    { maxBody: bodyLimit },
  )

  const write = (
    req: IncomingMessage,
    res: ServerResponse,
    hot: HotWrite,
    key: string | undefined,
    attempt: number,
    length: number,
  ): void => {
    const started = performance.now()
    readBody(req, length, (body) => {
      const amount = plainAmount(body)
      if (amount === undefined) return fastify(replayed(req, body), res)
      mutate(hot, amount, key, attempt, started).then(
        (text) => {
          writeAnswer(res, { body: text })
        },
        (err: unknown) => {
          // fastify runs the route on the replayed request; its handler throws `err`.
          const again = replayed(req, body)
          handOverWith(again, err)
          fastify(again, res)
        },
      )
    })
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A write the raw front served before it handed the connection over (one refused, and those
    // pipelined behind it): its answer is written, or fastify answers its error; never served again.
    const served = front.takeOutcome(req.socket)
    if (served !== undefined) {
      if ('answer' in served) return writeAnswer(res, served.answer)
      handOverWith(req, served.error)
      return fastify(req, res)
    }
    const hot = hotWrite(req.method, req.url)
    if (hot === undefined) return fastify(req, res)
    const h = req.headers
    const length = plainWriteLength(h, bodyLimit)
    if (length === undefined || h.host === undefined || closing()) return fastify(req, res)
    let key: string | undefined
    let attempt: number
    try {
      key = readIdempotencyKey(h['idempotency-key'], req.rawHeaders)
      attempt = readAttempt(h['tally-attempt'], req.rawHeaders)
    } catch {
      // fastify's handler reads them again and answers the same refusal.
      return fastify(req, res)
    }
    write(req, res, hot, key, attempt, length)
  })
  return front
}
