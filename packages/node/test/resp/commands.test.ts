// The RESP listener of a node, byte for byte: commands, reply shapes in
// RESP2 and RESP3, pipelining, extensions, and every kind of bad input
// (exact reply, counters unchanged).
import { RawResp } from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RespFixture, startRespNode } from './support.js'

let f: RespFixture
let c: RawResp
beforeAll(async () => {
  f = await startRespNode()
  c = await RawResp.open(f.port)
})
afterAll(async () => {
  c.close()
  await f.stop()
})

describe('connection commands', () => {
  it('PING, inline PING, ECHO, SELECT 0', async () => {
    expect(await c.call('PING')).toBe('PONG')
    c.send('PING\r\n')
    expect(await c.read()).toBe('PONG')
    c.send('echo "a b"\n')
    expect(await c.read()).toBe('a b')
    expect(await c.call('ECHO', 'bin\x00\xff')).toBe('bin\x00\xff')
    expect(await c.call('SELECT', '0')).toBe('OK')
    expect(await c.call('SELECT', '1')).toEqual({ error: 'ERR DB index is out of range' })
  })

  it('HELLO 3 switches to RESP3 maps and nulls; HELLO 2 back', async () => {
    const d = await RawResp.open(f.port)
    const hello = (await d.call('HELLO', '3')) as Map<unknown, unknown>
    expect(hello).toBeInstanceOf(Map)
    expect(hello.get('proto')).toBe(3)
    expect(hello.get('server')).toBe('redis')
    d.command('GET', 'never-written')
    expect(d.pending.length === 0 || d.pending.toString()).toBeTruthy()
    expect(await d.read()).toBeNull()
    d.command('GET', 'never-written')
    await d.read()
    expect(await d.call('HELLO', '2')).toBeInstanceOf(Array)
    expect(await d.call('HELLO', '4')).toEqual({ error: 'NOPROTO unsupported protocol version' })
    d.close()
  })

  it('CLIENT SETNAME/GETNAME/ID/SETINFO/INFO', async () => {
    expect(await c.call('CLIENT', 'GETNAME')).toBeNull()
    expect(await c.call('CLIENT', 'SETNAME', 'app-1')).toBe('OK')
    expect(await c.call('CLIENT', 'GETNAME')).toBe('app-1')
    expect(typeof (await c.call('CLIENT', 'ID'))).toBe('number')
    expect(await c.call('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib')).toBe('OK')
    expect(await c.call('CLIENT', 'INFO')).toMatch(/name=app-1 .*lib-name=mylib/)
    expect(await c.call('CLIENT', 'SETNAME', 'a b')).toEqual({
      error: 'ERR Client names cannot contain spaces, newlines or special characters.',
    })
  })

  it('COMMAND COUNT/INFO/DOCS describe the table', async () => {
    const count = (await c.call('COMMAND', 'COUNT')) as number
    expect(count).toBeGreaterThan(20)
    expect(((await c.call('COMMAND')) as unknown[]).length).toBe(count)
    const [incrby, nope] = (await c.call('COMMAND', 'INFO', 'incrby', 'nope')) as unknown[][]
    expect(incrby?.slice(0, 2)).toEqual(['incrby', 3])
    expect(nope).toBeNull()
    const docs = (await c.call('COMMAND', 'DOCS', 'tally.incrby')) as unknown[]
    expect(docs[0]).toBe('tally.incrby')
  })

  it('INFO has server, clients, tally and keyspace sections', async () => {
    await c.call('INCR', 'info:probe')
    const info = (await c.call('INFO')) as string
    expect(info).toMatch(/# Server\r\nredis_version:7\.2\.0\r\n/)
    expect(info).toMatch(/connected_clients:\d+/)
    expect(info).toContain(`tally_node_id:${f.node.identity.nodeId}`)
    expect(info).toContain(`tally_replica:${f.node.identity.replicaId}`)
    expect(info).toMatch(/tally_peers_live:0\r\ntally_peers_suspect:0\r\ntally_peers_dead:0/)
    expect(info).toMatch(/db0:keys=\d+,expires=0,avg_ttl=0/)
    expect(await c.call('INFO', 'tally')).not.toContain('# Server')
  })
})

describe('counter commands', () => {
  it('INCR/INCRBY/DECR/DECRBY reply the new value; GET a bulk string, nil when never written', async () => {
    expect(await c.call('GET', 'page-views')).toBeNull()
    expect(await c.call('INCR', 'page-views')).toBe(1)
    expect(await c.call('INCRBY', 'page-views', '41')).toBe(42)
    expect(await c.call('DECR', 'page-views')).toBe(41)
    expect(await c.call('DECRBY', 'page-views', '50')).toBe(-9)
    expect(await c.call('INCRBY', 'page-views', '-1')).toBe(-10)
    expect(await c.call('DECRBY', 'page-views', '-10')).toBe(0)
    expect(await c.call('INCRBY', 'page-views', '0')).toBe(0)
    expect(await c.call('GET', 'page-views')).toBe('0')
    expect(f.node.value('page-views')).toBe(0)
  })

  it('common Redis key shapes are counter names', async () => {
    const shapes = ['user:42', 'rl:{tenant}/login', 'views@2026-12-01', 'page|home', 'a#b?c&d=e%f']
    // Names that are Object.prototype members stay plain data (counters live in Maps; states refuse only __proto__).
    const protoNames = ['constructor', 'toString', 'hasOwnProperty', '__defineGetter__', 'prototype']
    for (const k of [...shapes, ...protoNames]) {
      expect(await c.call('INCRBY', k, '3')).toBe(3)
      expect(await c.call('GET', k)).toBe('3')
    }
    const state = f.node.map.state()
    for (const k of protoNames) expect(Object.hasOwn(state.counters, k)).toBe(true)
    expect(Object.getPrototypeOf(state.counters)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).constructor).toBe(Object)
  })

  it('MGET, EXISTS, TYPE, TTL, PTTL, DBSIZE', async () => {
    await c.call('INCR', 'm:1')
    await c.call('INCRBY', 'm:2', '2')
    expect(await c.call('MGET', 'm:1', 'm:none', 'm:2')).toEqual(['1', null, '2'])
    expect(await c.call('EXISTS', 'm:1', 'm:none', 'm:1')).toBe(2)
    expect(await c.call('TYPE', 'm:1')).toBe('string')
    expect(await c.call('TYPE', 'm:none')).toBe('none')
    expect(await c.call('TTL', 'm:1')).toBe(-1)
    expect(await c.call('PTTL', 'm:none')).toBe(-2)
    expect(await c.call('DBSIZE')).toBe(f.node.map.size)
  })

  it('KEYS and SCAN see every counter, with MATCH and COUNT', async () => {
    for (let i = 0; i < 25; i++) await c.call('INCR', `scan:${String(i).padStart(2, '0')}`)
    expect(((await c.call('KEYS', 'scan:1?')) as string[]).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `scan:1${i}`),
    )
    const seen = new Set<string>()
    let cursor = '0'
    let rounds = 0
    do {
      const [next, keys] = (await c.call('SCAN', cursor, 'MATCH', 'scan:*', 'COUNT', '7')) as [
        string,
        string[],
      ]
      for (const k of keys) seen.add(k)
      cursor = next
      rounds++
    } while (cursor !== '0' && rounds < 1000)
    expect(seen.size).toBe(25)
  })

  it('TALLY.INCRBY with KEY counts a retried write once', async () => {
    expect(await c.call('TALLY.INCRBY', 'orders', '5', 'KEY', 'req-1')).toBe(5)
    expect(await c.call('TALLY.INCRBY', 'orders', '5', 'KEY', 'req-1', 'ATTEMPT', '2')).toBe(5)
    expect(await c.call('TALLY.DECRBY', 'orders', '2', 'CONSISTENCY', 'one')).toBe(3)
    expect(await c.call('TALLY.INCRBY', 'orders', '6', 'KEY', 'req-1')).toEqual({
      error: expect.stringMatching(/^TALLY TALLY_IDEMPOTENCY_MISMATCH /),
    })
    expect(f.node.value('orders')).toBe(3)
  })

  it('a pipeline of writes is answered in order', async () => {
    const n = 200
    let bytes = ''
    for (let i = 0; i < n; i++) bytes += `*2\r\n$4\r\nINCR\r\n$4\r\npipe\r\n`
    bytes += '*2\r\n$3\r\nGET\r\n$4\r\npipe\r\n'
    c.send(bytes)
    for (let i = 1; i <= n; i++) expect(await c.read()).toBe(i)
    expect(await c.read()).toBe(String(n))
  })
})

// [request, exact reply]: each is refused and changes no counter.
const BAD: Array<[string[], string]> = [
  [['INCR'], "ERR wrong number of arguments for 'incr' command"],
  [['INCR', 'a', 'b'], "ERR wrong number of arguments for 'incr' command"],
  [['INCRBY', 'bad:x'], "ERR wrong number of arguments for 'incrby' command"],
  [['GET'], "ERR wrong number of arguments for 'get' command"],
  [['INCRBY', 'bad:x', 'one'], 'ERR value is not an integer or out of range'],
  [['INCRBY', 'bad:x', '1.5'], 'ERR value is not an integer or out of range'],
  [['INCRBY', 'bad:x', ' 1'], 'ERR value is not an integer or out of range'],
  [['INCRBY', 'bad:x', '01'], 'ERR value is not an integer or out of range'],
  [['DECRBY', 'bad:x', '9223372036854775808'], 'ERR value is not an integer or out of range'],
  [['INCRBY', 'bad:x', '9007199254740992'], 'ERR increment or decrement would overflow'],
  [['INCRBY', 'bad:x', '-9223372036854775808'], 'ERR increment or decrement would overflow'],
  [['TALLY.INCRBY', 'bad:x', '0'], 'ERR value is not an integer or out of range'],
  [['TALLY.INCRBY', 'bad:x', '-1'], 'ERR value is not an integer or out of range'],
  [['TALLY.INCRBY', 'bad:x', '1', 'KEY'], 'ERR syntax error'],
  [['TALLY.INCRBY', 'bad:x', '1', 'COLOR', 'red'], 'ERR syntax error'],
  [
    ['TALLY.INCRBY', 'bad:x', '1', 'KEY', ' x'],
    'TALLY TALLY_IDEMPOTENCY_KEY_INVALID KEY must be 1-128 printable ASCII characters',
  ],
  [
    ['TALLY.INCRBY', 'bad:x', '1', 'ATTEMPT', '101'],
    'TALLY TALLY_ATTEMPT_INVALID ATTEMPT must be an integer from 1 to 100',
  ],
  [
    ['TALLY.INCRBY', 'bad:x', '1', 'CONSISTENCY', 'most'],
    'TALLY TALLY_CONSISTENCY_INVALID CONSISTENCY must be one|quorum|all',
  ],
  [['INCR', 'has space'], 'TALLY TALLY_NAME_INVALID'],
  [['INCR', ''], 'TALLY TALLY_NAME_INVALID'],
  [['INCR', 'x'.repeat(129)], 'TALLY TALLY_NAME_INVALID'],
  [['INCR', '__proto__'], 'TALLY TALLY_NAME_INVALID'],
  [['INCR', 'caf\xc3\xa9'], 'TALLY TALLY_NAME_INVALID'],
  [['INCRBY', 'bad\n', '0'], 'TALLY TALLY_NAME_INVALID'],
  [
    ['SET', 'bad:x', '1'],
    "ERR 'set' is not supported by Tally: counters change only by whole increments and decrements: use INCRBY key n / DECRBY key n",
  ],
  [
    ['RENAME', 'bad:x', 'bad:y'],
    "ERR 'rename' is not supported by Tally: counters cannot be renamed, moved or flushed: DEL deletes one counter at a time",
  ],
  [
    ['EXPIREAT', 'bad:x', '10'],
    "ERR 'expireat' is not supported by Tally: counters take relative TTLs only: use EXPIRE key seconds or PEXPIRE key ms",
  ],
  [['EXPIRE', 'bad:x', 'ten'], 'ERR value is not an integer or out of range'],
  [['PEXPIRE', 'bad:x', '1.5'], 'ERR value is not an integer or out of range'],
  [['EXPIRE', 'bad:x', '10', 'NX'], 'ERR syntax error: EXPIRE options NX XX GT LT are not supported'],
  [['EXPIRE', 'bad:x', '3153600001'], "ERR invalid expire time in 'expire' command"],
  [['PEXPIRE', 'bad:x', '9999999999999999'], "ERR invalid expire time in 'pexpire' command"],
  [['PEXPIRE', 'bad:x', '99999999999999999999'], 'ERR value is not an integer or out of range'],
  [['EXPIRE', 'has space', '10'], 'TALLY TALLY_NAME_INVALID'],
  [['DEL', 'ok', 'has space'], 'TALLY TALLY_NAME_INVALID'],
  [['PERSIST', ''], 'TALLY TALLY_NAME_INVALID'],
  [['DEL'], "ERR wrong number of arguments for 'del' command"],
  [['EXPIRE', 'bad:x'], "ERR wrong number of arguments for 'expire' command"],
  [['FOO', 'bad:x', 'y'], "ERR unknown command 'FOO', with args beginning with: 'bad:x' 'y' "],
  [['CLIENT', 'KILL'], "ERR unknown subcommand 'KILL'. Try CLIENT HELP."],
  [['SCAN', 'x'], 'ERR invalid cursor'],
  [
    ['AUTH', 'pw'],
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  ],
]

describe('bad input', () => {
  it.each(BAD)('%j → %s, nothing changes', async (args, reply) => {
    const before = f.node.map.state()
    const marks = f.node.lifecycle.marks.digest()
    const got = (await c.call(...args)) as { error: string }
    if (reply.endsWith('_INVALID') && reply.startsWith('TALLY '))
      expect(got.error.startsWith(`${reply} `)).toBe(true)
    else expect(got).toEqual({ error: reply })
    expect(f.node.map.state()).toEqual(before)
    expect(f.node.lifecycle.marks.digest()).toBe(marks)
    expect(await c.call('PING')).toBe('PONG')
  })

  const PROTOCOL: Array<[string, string]> = [
    ['*1\r\n$99999999999\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*99999999\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n:1\r\n', "ERR Protocol error: expected '$', got ':'"],
    ['*2\r\n$4\r\nINCR\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['INCR "unbalanced\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    [`*2\r\n$4\r\nECHO\r\n$70000\r\n`, 'ERR Protocol error: invalid bulk length'],
  ]
  it.each(PROTOCOL)('%j → %s and the connection closes; nothing changes', async (bytes, reply) => {
    const before = f.node.map.state()
    const d = await RawResp.open(f.port)
    d.send(bytes)
    expect(await d.read()).toEqual({ error: reply })
    await d.waitClosed()
    expect(d.pending.length).toBe(0)
    expect(f.node.map.state()).toEqual(before)
  })

  it('replies before a protocol error in the same read are still sent', async () => {
    const d = await RawResp.open(f.port)
    d.send('PING\r\n*1\r\n$99999999999\r\n')
    expect(await d.read()).toBe('PONG')
    expect(await d.read()).toEqual({ error: 'ERR Protocol error: invalid bulk length' })
    await d.waitClosed()
  })

  it('QUIT answers OK and closes', async () => {
    const d = await RawResp.open(f.port)
    d.send('PING\r\nQUIT\r\nPING\r\n')
    expect(await d.read()).toBe('PONG')
    expect(await d.read()).toBe('OK')
    await d.waitClosed()
    expect(d.pending.length).toBe(0)
  })
})

describe('half-close', () => {
  it('a client that shuts down its side after a pipeline still gets every reply', async () => {
    const d = await RawResp.open(f.port)
    d.send('INCR half\r\nINCR half\r\nGET half\r\n')
    d.socket.end()
    await d.waitClosed()
    expect(await d.read()).toBe(1)
    expect(await d.read()).toBe(2)
    expect(await d.read()).toBe('2')
  })
})
