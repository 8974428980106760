import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RESP_LIMITS, RespParser, RespProtocolError, splitInline } from '../../src/resp/parser.js'

const all = (input: string | Buffer, limits = DEFAULT_RESP_LIMITS): string[][] => {
  const p = new RespParser(limits)
  p.push(typeof input === 'string' ? Buffer.from(input, 'latin1') : input)
  const out: string[][] = []
  for (let c = p.next(); c !== undefined; c = p.next()) out.push(c)
  return out
}
const encodeCmd = (args: string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`

describe('RespParser', () => {
  it('parses pipelined multibulk and inline requests in order', () => {
    expect(all(`${encodeCmd(['INCR', 'a'])}PING\r\n${encodeCmd(['GET', 'a'])}`)).toEqual([
      ['INCR', 'a'],
      ['PING'],
      ['GET', 'a'],
    ])
  })

  it('skips empty requests as redis-server does', () => {
    expect(all('*0\r\n\r\n   \r\n*-1\r\nPING\n')).toEqual([['PING']])
  })

  it('returns requests byte for byte whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.string({ unit: 'binary-ascii', maxLength: 20 }), { minLength: 1, maxLength: 5 }),
          {
            maxLength: 10,
          },
        ),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        (cmds, cuts) => {
          const bytes = Buffer.from(cmds.map(encodeCmd).join(''), 'latin1')
          const p = new RespParser()
          const got: string[][] = []
          let at = 0
          let k = 0
          while (at < bytes.length) {
            const n = cuts[k++ % cuts.length] as number
            p.push(bytes.subarray(at, at + n))
            at += n
            for (let c = p.next(); c !== undefined; c = p.next()) got.push(c)
          }
          expect(got).toEqual(cmds)
          expect(p.buffered).toBe(0)
        },
      ),
      { seed: 13, numRuns: 200 },
    )
  })

  const bad: Array<[string, string]> = [
    ['*1\r\n$99999999999\r\n', 'invalid bulk length'],
    ['*99999999\r\n', 'invalid multibulk length'],
    ['*x\r\n', 'invalid multibulk length'],
    ['*1\r\n$-1\r\n', 'invalid bulk length'],
    ['*1\r\n$x\r\n', 'invalid bulk length'],
    ['*1\r\n:1\r\n', "expected '$', got ':'"],
    ['*1\r\n$3\r\nabcde\r\n', 'bulk string not terminated by CRLF'],
    ['SET "a\r\n', 'unbalanced quotes in request'],
    [`*${'9'.repeat(40)}`, 'too big mbulk count string'],
    ['A'.repeat(70_000), 'too big inline request'],
    [`*2\r\n$65536\r\n${'a'.repeat(65536)}\r\n$65536\r\n`, 'invalid bulk length'],
  ]
  it.each(bad)('refuses %j with "Protocol error: %s" before buffering it', (input, message) => {
    const p = new RespParser({ ...DEFAULT_RESP_LIMITS, maxBulkBytes: 65535 })
    p.push(Buffer.from(input, 'latin1'))
    expect(() => p.next()).toThrow(RespProtocolError)
    expect(() => new RespParser({ ...DEFAULT_RESP_LIMITS, maxBulkBytes: 65535 }).next()).not.toThrow()
    const q = new RespParser({ ...DEFAULT_RESP_LIMITS, maxBulkBytes: 65535 })
    q.push(Buffer.from(input, 'latin1'))
    try {
      q.next()
    } catch (err) {
      expect((err as Error).message).toBe(message)
    }
  })

  it('refuses a request spanning more than maxRequestBytes', () => {
    const p = new RespParser({ ...DEFAULT_RESP_LIMITS, maxRequestBytes: 100 })
    p.push(Buffer.from(encodeCmd(['ECHO', 'x'.repeat(200)]), 'latin1'))
    expect(() => p.next()).toThrow('too big request')
  })

  it('never throws anything but RespProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const p = new RespParser()
        p.push(Buffer.from(bytes))
        try {
          while (p.next() !== undefined) {}
        } catch (err) {
          expect(err).toBeInstanceOf(RespProtocolError)
        }
      }),
      { seed: 7, numRuns: 500 },
    )
  })
})

describe('splitInline', () => {
  it.each([
    ['incr  page-views', ['incr', 'page-views']],
    ["set \"a b\" 'c\\'d'", ['set', 'a b', "c'd"]],
    ['echo "\\x41\\n"', ['echo', 'A\n']],
    ['', []],
  ])('%j → %j', (line, args) => {
    expect(splitInline(line)).toEqual(args)
  })
  it.each(['"abc', "'abc", '"a"b'])('%j is unbalanced', (line) => {
    expect(splitInline(line)).toBeNull()
  })
})
