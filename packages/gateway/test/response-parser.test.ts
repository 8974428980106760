// The pipelined answer parser: framings, answers split anywhere, and
// malformed or oversized input refused.

import { prng } from '@tally/kit/testing'
import { describe, expect, it } from 'vitest'
import {
  AnswerParseError,
  MAX_HEAD_BYTES,
  type ParsedAnswer,
  ResponseParser,
} from '../src/response-parser.js'

const ok = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

/** Feeds `chunks` and returns the answers as plain objects. */
function parse(
  chunks: readonly (string | Buffer)[],
  maxBody = 1 << 20,
): Array<{ status: number; body: string; close: boolean }> {
  const p = new ResponseParser(maxBody)
  const out: ParsedAnswer[] = []
  for (const c of chunks) p.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, (a) => out.push(a))
  return out.map((a) => ({ status: a.status, body: a.body.toString(), close: a.close }))
}

describe('ResponseParser', () => {
  it.each([
    ['content-length', ok('{"value":1}'), [{ status: 200, body: '{"value":1}', close: false }]],
    [
      'two pipelined answers in one chunk',
      ok('{"a":1}') + ok('{"b":2}'),
      [
        { status: 200, body: '{"a":1}', close: false },
        { status: 200, body: '{"b":2}', close: false },
      ],
    ],
    [
      'chunked, with an extension and trailers',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\n{"a\r\n4\r\n":1}\r\n0\r\nx-t: 1\r\n\r\n',
      [{ status: 200, body: '{"a":1}', close: false }],
    ],
    [
      'chunked, empty',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      [{ status: 200, body: '', close: false }],
    ],
    [
      'an error status with Connection: close',
      'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}',
      [{ status: 503, body: '{}', close: true }],
    ],
    [
      'HTTP/1.0 closes unless kept alive',
      'HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n',
      [{ status: 200, body: '', close: true }],
    ],
    [
      '204 has no body',
      'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n',
      [{ status: 204, body: '', close: false }],
    ],
    ['UTF-8 body', ok('{"n":"é→"}'), [{ status: 200, body: '{"n":"é→"}', close: false }]],
  ])('%s', (_what, text, want) => {
    expect(parse([Buffer.from(text)])).toEqual(want)
  })

  it('gives the same answers however the bytes are split (seeded)', () => {
    const stream = Buffer.from(
      ok('{"a":1}') +
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' +
        ok('{"counters":[]}', 'keep-alive: timeout=10\r\n') +
        'HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope',
    )
    const want = parse([stream])
    expect(want.map((a) => a.status)).toEqual([200, 200, 200, 404])
    const rng = prng(7)
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = []
      let at = 0
      while (at < stream.length) {
        const n = 1 + Math.floor(rng() * 12)
        chunks.push(stream.subarray(at, at + n))
        at += n
      }
      expect(parse(chunks)).toEqual(want)
    }
  })

  it('waits for the rest of an answer without producing anything', () => {
    const p = new ResponseParser(1000)
    const out: ParsedAnswer[] = []
    p.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345'), (a) => out.push(a))
    expect(out).toEqual([])
    expect(p.buffered).toBe(5)
  })

  it.each([
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['garbage', 'hello world\r\n\r\n'],
    ['an informational answer', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n'],
    ['a non-numeric content-length', 'HTTP/1.1 200 OK\r\ncontent-length: 1e3\r\n\r\n'],
    ['two different content-lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n'],
    ['an unknown transfer-encoding', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n'],
    [
      'chunked and a content-length',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n',
    ],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}xx'],
    ['a body over the limit', 'HTTP/1.1 200 OK\r\ncontent-length: 101\r\n\r\n'],
    [
      'chunks over the limit',
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n60\r\n${'x'.repeat(96)}\r\n60\r\n`,
    ],
    ['a head that never ends', `HTTP/1.1 200 OK\r\nx: ${'a'.repeat(MAX_HEAD_BYTES)}`],
  ])('refuses %s', (_what, text) => {
    expect(() => parse([text], 100)).toThrow(AnswerParseError)
  })
})
