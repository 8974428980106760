// A request whose body a server has already read ahead of fastify, made
// readable again for fastify: the same method, URL, headers and socket, and
// the body bytes pushed anew, as light-my-request builds the requests of
// `app.inject`.

import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'

/**
 * A stand-in for `req` (whose body was consumed) that yields `body` once
 * and ends. Only for handing a request to fastify's handler. Never throws.
 */
export function replayed(req: IncomingMessage, body: Buffer): IncomingMessage {
  const r = new Readable({ read() {} }) as Readable & Record<string, unknown>
  r.method = req.method
  r.url = req.url
  r.headers = req.headers
  r.rawHeaders = req.rawHeaders
  r.httpVersion = req.httpVersion
  r.httpVersionMajor = req.httpVersionMajor
  r.httpVersionMinor = req.httpVersionMinor
  r.socket = req.socket
  r.connection = req.socket
  r.trailers = req.trailers
  r.rawTrailers = req.rawTrailers
  r.complete = true
  r.aborted = false
  if (body.length > 0) r.push(body)
  r.push(null)
  return r as unknown as IncomingMessage
}
