// The body of a request a server answers ahead of fastify (hot-server.ts), read with as
// little of the stream machinery as possible. A small body nearly always
// comes in the same packet as the head: by the next tick Node's HTTP parser
// has pushed all of it into the request (its end is marked a little later,
// in the same parse), and one `read()` takes it, without switching the stream
// to flowing mode ('data' listeners, `resume`, `flow`, a 'data' event per
// chunk, an 'end' event). A body still on its way is collected chunk by
// chunk as before.

import type { IncomingMessage } from 'node:http'

const EMPTY = Buffer.alloc(0)

/**
 * Calls `done` once with the whole body of `req`, whose `Content-Length` is
 * `length` bytes (an empty Buffer for none), from a later tick; never if the
 * request is aborted before its end (as with 'end'). Call at most once per
 * request, before anything else reads it. Never throws.
 */
export function readBody(req: IncomingMessage, length: number, done: (body: Buffer) => void): void {
  process.nextTick(() => {
    // The parser frames the body by its Content-Length: once that many bytes are buffered, it is all there.
    if (req.readableLength === length && !req.readableFlowing) {
      done(length === 0 ? EMPTY : (req.read() as Buffer))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
  })
}
