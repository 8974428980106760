// Real Redis clients against a node's RESP listener: ioredis, node-redis
// (RESP2 and RESP3), redis-cli and redis-benchmark from Debian's redis-tools.
import { spawn, spawnSync } from 'node:child_process'
import { Redis, ReplyError } from 'ioredis'
import { createClient, ErrorReply } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RespFixture, startRespNode } from './support.js'

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const hasRedisCli = has('redis-cli')
const hasRedisBenchmark = has('redis-benchmark')

/** Runs a tool without blocking the event loop (the listener under test runs in this process). */
function run(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'] })
    let stdout = ''
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(t)
      resolve({ status, stdout })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

let f: RespFixture
beforeAll(async () => {
  f = await startRespNode({}, 'clients')
})
afterAll(async () => {
  await f.stop()
})

describe('ioredis', () => {
  it('commands, a pipeline of writes, errors as ReplyError', async () => {
    const r = new Redis({ port: f.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
    await r.connect()
    try {
      expect(await r.incr('io:a')).toBe(1)
      expect(await r.incrby('io:a', 9)).toBe(10)
      expect(await r.get('io:a')).toBe('10')
      expect(await r.get('io:none')).toBeNull()
      const p = r.pipeline()
      for (let i = 0; i < 100; i++) p.incr('io:pipe')
      p.get('io:pipe')
      const res = (await p.exec()) ?? []
      expect(res.map(([err]) => err)).toEqual(new Array(101).fill(null))
      expect(res.slice(0, 100).map(([, v]) => v)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
      expect(res[100]?.[1]).toBe('100')
      await expect(r.incrby('io:a', 'x' as unknown as number)).rejects.toThrow(
        'ERR value is not an integer or out of range',
      )
      await expect(r.set('io:a', '1')).rejects.toBeInstanceOf(ReplyError)
      expect(await r.call('TALLY.INCRBY', 'io:k', '4', 'KEY', 'once')).toBe(4)
      expect(await r.call('TALLY.INCRBY', 'io:k', '4', 'KEY', 'once')).toBe(4)
      expect(f.node.value('io:k')).toBe(4)
      const keys: string[] = []
      for await (const batch of r.scanStream({ match: 'io:*', count: 2 })) keys.push(...(batch as string[]))
      expect(new Set(keys)).toEqual(new Set(['io:a', 'io:pipe', 'io:k']))
    } finally {
      r.disconnect()
    }
  })
})

describe('node-redis', () => {
  for (const RESP of [2, 3] as const) {
    it(`RESP${RESP}: commands, MGET nils, multi-key reads, errors as ErrorReply`, async () => {
      const c = createClient({ url: `redis://127.0.0.1:${f.port}`, RESP })
      c.on('error', () => {})
      await c.connect()
      try {
        expect(await c.incr(`nr${RESP}:a`)).toBe(1)
        expect(await c.decrBy(`nr${RESP}:a`, 3)).toBe(-2)
        expect(await c.mGet([`nr${RESP}:a`, `nr${RESP}:none`])).toEqual(['-2', null])
        expect(await c.exists([`nr${RESP}:a`, `nr${RESP}:none`])).toBe(1)
        expect(await c.type(`nr${RESP}:a`)).toBe('string')
        const replies = await Promise.all(Array.from({ length: 50 }, () => c.incr(`nr${RESP}:burst`)))
        expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
        await expect(c.append(`nr${RESP}:a`, 'x')).rejects.toBeInstanceOf(ErrorReply)
        expect(await c.sendCommand(['TALLY.DECRBY', `nr${RESP}:a`, '1'])).toBe(-3)
        expect(String(await c.info('tally'))).toContain('tally_node_id:clients')
      } finally {
        c.destroy()
      }
    })
  }
})

describe('redis-cli', () => {
  const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(f.port), ...args])

  it.skipIf(!hasRedisCli)('incr, get, info, --scan [skipped without redis-cli]', async () => {
    expect((await cli('incr', 'page-views')).stdout).toBe('1\n')
    expect((await cli('incrby', 'page-views', '4')).stdout).toBe('5\n')
    expect((await cli('get', 'page-views')).stdout).toBe('5\n')
    expect((await cli('set', 'page-views', '1')).stdout).toMatch(/^ERR 'set' is not supported/)
    expect((await cli('info', 'tally')).stdout).toContain('tally_counters:')
    expect((await cli('--scan', '--pattern', 'page-*')).stdout).toBe('page-views\n')
  })

  it.skipIf(!hasRedisCli)('commands typed by hand (inline, stdin) [skipped without redis-cli]', async () => {
    const r = await run(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(f.port)],
      'PING\nINCR typed\nINCR typed\n',
    )
    expect(r.stdout).toBe('PONG\n1\n2\n')
  })
})

describe('redis-benchmark', () => {
  it.skipIf(!hasRedisBenchmark)(
    '-t incr with -P 16 counts every request [skipped without redis-benchmark]',
    async () => {
      // redis-benchmark's INCR key is counter:__rand_int__ (counter:{tag}__rand_int__ in some versions).
      const total = () =>
        f.node.map
          .names()
          .filter((n) => n.startsWith('counter:'))
          .reduce((s, n) => s + f.node.value(n), 0)
      const before = total()
      const r = await run('redis-benchmark', [
        ...['-h', '127.0.0.1', '-p', String(f.port)],
        ...['-t', 'incr', '-c', '4', '-n', '2000', '-P', '16', '-q'],
      ])
      expect(r.status).toBe(0)
      expect(total() - before).toBe(2000)
    },
  )
})
