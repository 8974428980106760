// DEL, UNLINK, EXPIRE, PEXPIRE, TTL, PTTL and PERSIST on a node's RESP
// listener, with Redis' replies, through a raw client, ioredis and redis-cli.
// The node's clock is injected, so expiries are exact and instant.
import { spawn, spawnSync } from 'node:child_process'
import { RawResp } from '@tally/kit/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TallyNode } from '../../src/node.js'
import { createNodeResp } from '../../src/resp/resp-server.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { silent, startSim } from '../support/sim.js'

let now = 1_900_000_000_000
let node: TallyNode
let stop: () => Promise<void>
let port: number

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'resp-life', [], { now: () => now })).node
  const resp = createNodeResp({ node, host: '127.0.0.1', port: 0, logger: silent })
  port = (await resp.listen()).port
  stop = async () => {
    await resp.close()
    await node.stop()
  }
})
afterAll(async () => {
  await stop()
})

describe('raw RESP', () => {
  it('DEL and UNLINK count the counters that existed; deleted counters read nil and leave KEYS', async () => {
    const c = await RawResp.open(port)
    await c.call('INCRBY', 'd:1', '5')
    await c.call('INCRBY', 'd:2', '1')
    expect(await c.call('DEL', 'd:1', 'd:2', 'd:none')).toBe(2)
    expect(await c.call('GET', 'd:1')).toBeNull()
    expect(await c.call('EXISTS', 'd:1', 'd:2')).toBe(0)
    expect(await c.call('KEYS', 'd:*')).toEqual([])
    expect(await c.call('DEL', 'd:1')).toBe(0)
    expect(await c.call('INCR', 'd:1')).toBe(1)
    expect(await c.call('UNLINK', 'd:1')).toBe(1)
    expect(await c.call('TTL', 'd:1')).toBe(-2)
    c.close()
  })

  it('EXPIRE/PEXPIRE set a TTL (1) or find no counter (0); TTL/PTTL read it; the counter expires at its time', async () => {
    const c = await RawResp.open(port)
    expect(await c.call('EXPIRE', 'e:1', '10')).toBe(0)
    await c.call('INCRBY', 'e:1', '7')
    expect(await c.call('TTL', 'e:1')).toBe(-1)
    expect(await c.call('EXPIRE', 'e:1', '10')).toBe(1)
    expect(await c.call('PTTL', 'e:1')).toBe(10_000)
    now += 2_600
    expect(await c.call('TTL', 'e:1')).toBe(7) // 7.4 s left, rounded as Redis does
    expect(await c.call('PTTL', 'e:1')).toBe(7_400)
    expect(await c.call('PEXPIRE', 'e:1', '1500')).toBe(1)
    now += 1_500
    expect(await c.call('GET', 'e:1')).toBeNull()
    expect(await c.call('TTL', 'e:1')).toBe(-2)
    expect(await c.call('INCR', 'e:1')).toBe(1)
    expect(await c.call('TTL', 'e:1')).toBe(-1)
    c.close()
  })

  it('PERSIST removes a TTL (1) or finds none (0); a non-positive EXPIRE deletes', async () => {
    const c = await RawResp.open(port)
    await c.call('INCRBY', 'p:1', '3')
    expect(await c.call('PERSIST', 'p:1')).toBe(0)
    await c.call('EXPIRE', 'p:1', '100')
    expect(await c.call('PERSIST', 'p:1')).toBe(1)
    expect(await c.call('TTL', 'p:1')).toBe(-1)
    expect(await c.call('PERSIST', 'p:none')).toBe(0)
    expect(await c.call('EXPIRE', 'p:1', '0')).toBe(1)
    expect(await c.call('GET', 'p:1')).toBeNull()
    expect(await c.call('EXPIRE', 'p:1', '-5')).toBe(0)
    c.close()
  })
})

describe('ioredis', () => {
  it('del, expire, pexpire, ttl, pttl, persist', async () => {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await r.connect()
    await r.incrby('io:1', 4)
    expect(await r.expire('io:1', 60)).toBe(1)
    expect(await r.ttl('io:1')).toBe(60)
    expect(await r.pexpire('io:1', 30_000)).toBe(1)
    expect(await r.pttl('io:1')).toBe(30_000)
    expect(await r.persist('io:1')).toBe(1)
    expect(await r.ttl('io:1')).toBe(-1)
    expect(await r.del('io:1', 'io:none')).toBe(1)
    expect(await r.get('io:1')).toBeNull()
    expect(await r.ttl('io:1')).toBe(-2)
    expect(await r.unlink('io:1')).toBe(0)
    r.disconnect()
  })
})

describe('TALLY.DEL', () => {
  it('deletes one counter (1/0), a retry with the same KEY answers the same and deletes nothing more', async () => {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await r.connect()
    try {
      await r.incrby('td:1', 4)
      expect(await r.call('TALLY.DEL', 'td:1', 'KEY', 'td-key-1', 'CONSISTENCY', 'quorum')).toBe(1)
      expect(await r.get('td:1')).toBeNull()
      await r.incrby('td:1', 2)
      expect(await r.call('tally.del', 'td:1', 'key', 'td-key-1')).toBe(1) // the first answer
      expect(await r.get('td:1')).toBe('2')
      expect(await r.call('TALLY.DEL', 'td:none', 'CONSISTENCY', 'ALL')).toBe(0)
    } finally {
      r.disconnect()
    }
  })

  it.each([
    [['td:2', 'CONSISTENCY', 'most'], 'TALLY TALLY_CONSISTENCY_INVALID'],
    [['td:2', 'KEY', ' lead'], 'TALLY TALLY_IDEMPOTENCY_KEY_INVALID'],
    [['td:2', 'KEY'], 'ERR syntax error'],
    [['td:2', 'ATTEMPT', '2'], 'ERR syntax error'],
    [['td:2', 'td:3'], 'ERR syntax error'],
    [['a b'], 'TALLY TALLY_NAME_INVALID'],
  ])('TALLY.DEL %j is refused (%s) and deletes nothing', async (args, prefix) => {
    const c = await RawResp.open(port)
    await c.call('INCRBY', 'td:2', '3')
    const reply = (await c.call('TALLY.DEL', ...args)) as { error: string }
    expect(reply.error.startsWith(prefix)).toBe(true)
    expect(await c.call('GET', 'td:2')).toBe('3')
    await c.call('DEL', 'td:2')
    c.close()
  })
})

const hasRedisCli = spawnSync('sh', ['-c', 'command -v redis-cli']).status === 0

function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(t)
      resolve(out)
    })
  })
}

describe('redis-cli', () => {
  it.skipIf(!hasRedisCli)('del, expire, ttl, persist [skipped without redis-cli]', async () => {
    await cli('incrby', 'cli:1', '2')
    expect(await cli('expire', 'cli:1', '30')).toBe('1\n')
    expect(await cli('ttl', 'cli:1')).toBe('30\n')
    expect(await cli('persist', 'cli:1')).toBe('1\n')
    expect(await cli('del', 'cli:1')).toBe('1\n')
    expect(await cli('get', 'cli:1')).toBe('\n')
    expect(await cli('ttl', 'cli:1')).toBe('-2\n')
  })
})
