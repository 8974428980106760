import { describe, expect, it } from 'vitest'
import { globMatch, parseInteger } from '../../src/resp/args.js'
import { tallyErrorReply, unknownCommand, wrongArity } from '../../src/resp/errors.js'
import { array, bulk, encode, error, int, map, NIL, OK, set, simple, verbatim } from '../../src/resp/reply.js'

describe('encode', () => {
  it.each([
    [OK, '+OK\r\n', '+OK\r\n'],
    [simple('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
    [error('ERR x'), '-ERR x\r\n', '-ERR x\r\n'],
    [int(-3), ':-3\r\n', ':-3\r\n'],
    [bulk('héllo'), '$5\r\nhéllo\r\n', '$5\r\nhéllo\r\n'],
    [NIL, '$-1\r\n', '_\r\n'],
    [array([int(1), NIL]), '*2\r\n:1\r\n$-1\r\n', '*2\r\n:1\r\n_\r\n'],
    [map([[bulk('a'), int(1)]]), '*2\r\n$1\r\na\r\n:1\r\n', '%1\r\n$1\r\na\r\n:1\r\n'],
    [set([bulk('a')]), '*1\r\n$1\r\na\r\n', '~1\r\n$1\r\na\r\n'],
    [verbatim('x:1'), '$3\r\nx:1\r\n', '=7\r\ntxt:x:1\r\n'],
  ])('%j → RESP2 %j, RESP3 %j', (r, two, three) => {
    expect(encode(r, 2)).toBe(two)
    expect(encode(r, 3)).toBe(three)
  })
})

describe('errors', () => {
  it('speaks Redis where Redis has the error', () => {
    expect(wrongArity('INCRBY')).toEqual(error("ERR wrong number of arguments for 'incrby' command"))
    expect(unknownCommand('FOO', ['a', 'b'])).toEqual(
      error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' "),
    )
    expect(tallyErrorReply('TALLY_OVERFLOW', 'x')).toEqual(error('ERR increment or decrement would overflow'))
  })
  it('prefixes Tally codes with TRYAGAIN when nothing was applied, TALLY otherwise', () => {
    expect(tallyErrorReply('TALLY_STORE_FAILED', 'disk')).toEqual(error('TRYAGAIN TALLY_STORE_FAILED disk'))
    expect(tallyErrorReply('TALLY_QUORUM_TIMEOUT', 'q')).toEqual(error('TALLY TALLY_QUORUM_TIMEOUT q'))
    expect(tallyErrorReply('TALLY___proto__', 'p')).toEqual(error('TALLY TALLY___proto__ p'))
    expect(tallyErrorReply('ECONNRESET', 'boom')).toEqual(error('TALLY TALLY_INTERNAL internal error'))
  })
})

describe('parseInteger', () => {
  it.each([
    ['0', 0n],
    ['-5', -5n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ])('%j → %s', (s, n) => expect(parseInteger(s)).toBe(n))
  it.each(['', '01', '+1', ' 1', '1 ', '1.5', '9223372036854775808', '-0x1', 'abc', '-'])(
    '%j is not an integer',
    (s) => expect(parseInteger(s)).toBeUndefined(),
  )
})

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['user:*', 'user:42', true],
    ['user:*', 'users:42', false],
    ['h?llo', 'hello', true],
    ['h[ae]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['rl:\\{*', 'rl:{t}/login', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['', '', true],
  ])('%j ~ %j = %s', (p, s, want) => expect(globMatch(p, s)).toBe(want))
})

describe('integer replies', () => {
  it('encode the same whether cached (0…1023) or not', () => {
    for (const v of [
      -1024,
      -1,
      0,
      1,
      7,
      1023,
      1024,
      65_536,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ]) {
      expect(encode(int(v), 2)).toBe(`:${v}\r\n`)
      expect(encode(int(v), 3)).toBe(`:${v}\r\n`)
      expect(encode({ t: 'int', v }, 2)).toBe(`:${v}\r\n`)
    }
    expect(int(5)).toBe(int(5))
  })
})
