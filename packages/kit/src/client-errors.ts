// Client faults that never reach a route: what Node's HTTP parser refuses
// (bad chunking, Content-Length with Transfer-Encoding, an oversize request
// head, control characters in a header, a request that arrives too slowly)
// and an HTTP/1.1 request without `Host`. They get the house error body too,
// on a connection that is then closed, and are logged at debug only.

import { type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { type HttpError, httpError } from './http-errors.js'

/** What Node hands a `clientError` listener: an error with the parser's code. */
export interface ParserError extends Error {
  code?: string
  /** llhttp's explanation, e.g. `Invalid header value char`. */
  reason?: string
}

/** Limits the answers name; see {@link clientErrorAnswer}. */
export interface ClientErrorLimits {
  /** Largest request line + headers, bytes (Node's `maxHeaderSize`). */
  readonly maxHeaderBytes: number
  /** Time a request has to arrive completely, ms (the server's `requestTimeout`). */
  readonly requestTimeoutMs: number
}

/**
 * The answer to a parser error, or undefined when there is nobody to answer
 * (the peer reset the connection): HPE_HEADER_OVERFLOW (request line plus
 * headers over the limit, a long URL included) → 431
 * `TALLY_HEADERS_TOO_LARGE`; ERR_HTTP_REQUEST_TIMEOUT → 408
 * `TALLY_REQUEST_TIMEOUT`; any other parser error → 400 `TALLY_BAD_REQUEST`
 * with a message naming the fault. Pure.
 */
export function clientErrorAnswer(err: ParserError, limits: ClientErrorLimits): HttpError | undefined {
  switch (err.code) {
    case 'ECONNRESET':
      return undefined
    case 'HPE_HEADER_OVERFLOW':
      return httpError(
        'TALLY_HEADERS_TOO_LARGE',
        `request line and headers exceed ${limits.maxHeaderBytes} bytes`,
      )
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return httpError('TALLY_REQUEST_TIMEOUT', `request not received within ${limits.requestTimeoutMs} ms`)
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return httpError('TALLY_BAD_REQUEST', 'Content-Length and Transfer-Encoding must not be sent together')
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
      return httpError('TALLY_BAD_REQUEST', 'malformed chunked body')
    default: {
      const why =
        typeof err.reason === 'string' && err.reason !== '' ? err.reason : (err.code ?? 'parse error')
      return httpError('TALLY_BAD_REQUEST', `malformed HTTP request: ${why.slice(0, 100)}`)
    }
  }
}

/**
 * A complete HTTP/1.1 response carrying `err` as the house JSON body, with
 * `connection: close`. Pure.
 */
export function rawErrorResponse(err: HttpError): string {
  const body = JSON.stringify(err.body())
  return (
    `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  )
}

/**
 * A `clientError` listener (fastify's `clientErrorHandler`): logs the fault
 * at debug, writes {@link rawErrorResponse} of {@link clientErrorAnswer}
 * unless the socket is gone or a response has already begun on it, then
 * destroys the socket. Never throws.
 */
export function clientErrorHandler(
  limits: ClientErrorLimits,
  log: () => FastifyBaseLogger,
): (err: ParserError, socket: Socket) => void {
  return (err, socket) => {
    const answer = clientErrorAnswer(err, limits)
    log().debug({ code: err.code, reason: err.reason, answer: answer?.code }, 'client error')
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (answer !== undefined && !socket.destroyed && socket.writable && !inFlight?.headersSent) {
      socket.write(rawErrorResponse(answer))
    }
    socket.destroy()
  }
}

/**
 * The error for an HTTP/1.1 request without a `Host` header (RFC 9112 §3.2
 * requires one), or undefined when the request is fine. Pure.
 */
export function missingHost(httpVersion: string, host: string | undefined): HttpError | undefined {
  if (httpVersion !== '1.1' || host !== undefined) return undefined
  return httpError('TALLY_BAD_REQUEST', 'an HTTP/1.1 request must have a Host header')
}
