import { describe, expect, it } from 'vitest'
import { clientErrorAnswer, missingHost, type ParserError, rawErrorResponse } from '../src/client-errors.js'

const limits = { maxHeaderBytes: 16384, requestTimeoutMs: 10_000 }
const parserError = (code: string, reason?: string): ParserError =>
  Object.assign(new Error(code), { code, ...(reason === undefined ? {} : { reason }) })

describe('clientErrorAnswer', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'TALLY_HEADERS_TOO_LARGE', 'request line and headers exceed 16384 bytes'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'TALLY_REQUEST_TIMEOUT', 'request not received within 10000 ms'],
    [
      'HPE_UNEXPECTED_CONTENT_LENGTH',
      400,
      'TALLY_BAD_REQUEST',
      'Content-Length and Transfer-Encoding must not be sent together',
    ],
    ['HPE_INVALID_CHUNK_SIZE', 400, 'TALLY_BAD_REQUEST', 'malformed chunked body'],
    ['HPE_INVALID_METHOD', 400, 'TALLY_BAD_REQUEST', 'malformed HTTP request: HPE_INVALID_METHOD'],
  ])('%s → %d %s', (code, status, answer, message) => {
    const e = clientErrorAnswer(parserError(code), limits)
    expect([e?.statusCode, e?.code, e?.message]).toEqual([status, answer, message])
  })

  it("names llhttp's reason when it has one", () => {
    const e = clientErrorAnswer(parserError('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char'), limits)
    expect(e?.message).toBe('malformed HTTP request: Invalid header value char')
  })

  it('has no answer for a connection the peer reset', () => {
    expect(clientErrorAnswer(parserError('ECONNRESET'), limits)).toBeUndefined()
  })
})

describe('rawErrorResponse', () => {
  it('is a complete HTTP/1.1 response with the house JSON body and connection: close', () => {
    const e = clientErrorAnswer(parserError('HPE_HEADER_OVERFLOW'), limits)
    const raw = rawErrorResponse(e as NonNullable<typeof e>)
    const [head, body] = raw.split('\r\n\r\n') as [string, string]
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 431 Request Header Fields Too Large',
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    ])
    expect(JSON.parse(body)).toEqual({
      error: { code: 'TALLY_HEADERS_TOO_LARGE', message: 'request line and headers exceed 16384 bytes' },
    })
  })
})

describe('missingHost', () => {
  it.each([
    ['1.1', undefined, 'TALLY_BAD_REQUEST'],
    ['1.1', 'example', undefined],
    ['1.1', '', undefined],
    ['1.0', undefined, undefined],
  ])('HTTP/%s Host %j → %s', (version, host, code) => {
    expect(missingHost(version, host)?.code).toBe(code)
  })
})
