import { describe, expect, it } from 'vitest'
import { checkHttpUrl, isValidNodeId, parseHostPort } from '../src/validate.js'

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:9000', '127.0.0.1', 9000],
    ['node-1.example.com:1', 'node-1.example.com', 1],
    ['localhost:65535', 'localhost', 65535],
    ['[::1]:9000', '::1', 9000],
    ['[fd00::2]:9001', 'fd00::2', 9001],
  ])('accepts %s', (addr, host, port) => {
    expect(parseHostPort(addr)).toEqual({ host, port })
  })

  it.each([
    '',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:+80',
    '127.0.0.1:80x',
    '999.1.1.1:80',
    '::1:9000',
    '[::1]9000',
    '[nothex]:9000',
    '0.0.0.0:9000',
    '[::]:9000',
    '-bad-.com:80',
    'a b:80',
    'host_name:80',
    `${'a'.repeat(64)}.com:80`,
    `${'a.'.repeat(200)}com:80`,
  ])('refuses %j with a reason', (addr) => {
    expect(typeof parseHostPort(addr)).toBe('string')
  })

  it('refuses non-strings', () => {
    expect(typeof parseHostPort(9000)).toBe('string')
  })
})

describe('checkHttpUrl', () => {
  it.each(['http://127.0.0.1:8010', 'https://node.example.com', 'http://[::1]:8010/', 'http://h:1/base'])(
    'accepts %s',
    (u) => expect(checkHttpUrl(u)).toBeUndefined(),
  )
  it.each([
    'ftp://h/',
    'http://u:p@h/',
    'http://h/?q=1',
    'http://h/#f',
    'not a url',
    '/relative',
    'http://0.0.0.0:8010',
    'http://[::]:8010',
    `http://h/${'a'.repeat(3000)}`,
  ])('refuses %j', (u) => expect(checkHttpUrl(u)).toBeTypeOf('string'))
})

describe('isValidNodeId', () => {
  it('follows the node id rules', () => {
    expect(isValidNodeId('node-1')).toBe(true)
    expect(isValidNodeId('a.b_c:d-1')).toBe(true)
    expect(isValidNodeId('x'.repeat(128))).toBe(true)
    expect(isValidNodeId('x'.repeat(129))).toBe(false)
    expect(isValidNodeId('')).toBe(false)
    expect(isValidNodeId('a b')).toBe(false)
    expect(isValidNodeId('__proto__')).toBe(false)
    expect(isValidNodeId(1)).toBe(false)
  })
})
