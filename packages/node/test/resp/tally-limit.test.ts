// TALLY.LIMIT on a node's RESP listener, with the clients users run:
// ioredis and redis-cli. Replies, refusals that count nothing, KEY repeats.
import { spawn, spawnSync } from 'node:child_process'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RespFixture, startRespNode } from './support.js'

const hasRedisCli = spawnSync('sh', ['-c', 'command -v redis-cli']).status === 0

function redisCli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
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

let f: RespFixture
let r: Redis
beforeAll(async () => {
  f = await startRespNode({}, 'limit')
  r = new Redis({ port: f.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
  await r.connect()
})
afterAll(async () => {
  r.disconnect()
  await f.stop()
})

const W = 60_000
const estimate = (name: string) => f.node.limits.table.estimate(name, W, Date.now())

describe('TALLY.LIMIT (ioredis)', () => {
  it('replies [allowed, limit, remaining, resetMs] and counts only allowed hits', async () => {
    const replies = []
    for (let i = 0; i < 4; i++)
      replies.push((await r.call('TALLY.LIMIT', 'io:login', '3', String(W))) as number[])
    expect(replies.map((x) => x[0])).toEqual([1, 1, 1, 0])
    expect(replies[0]?.slice(1, 3)).toEqual([3, 2])
    expect(replies[3]?.slice(1, 3)).toEqual([3, 0])
    for (const x of replies) {
      expect(x).toHaveLength(4)
      expect(x[3]).toBeGreaterThan(0)
      expect(x[3]).toBeLessThanOrEqual(W)
    }
    expect(estimate('io:login')).toBe(3)
    expect(await r.call('tally.limit', 'io:amt', '10', String(W), 'AMOUNT', '4')).toEqual([
      1,
      10,
      6,
      expect.any(Number),
    ])
  })

  it('a repeated KEY answers as the first time and counts nothing', async () => {
    const a = await r.call('TALLY.LIMIT', 'io:k', '5', String(W), 'KEY', 'k-1', 'AMOUNT', '2')
    const b = await r.call('TALLY.LIMIT', 'io:k', '5', String(W), 'KEY', 'k-1', 'AMOUNT', '2')
    expect(b).toEqual(a)
    expect(estimate('io:k')).toBe(2)
  })

  it.each([
    [['io:b', '0', '1000'], 'TALLY_LIMIT_INVALID'],
    [['io:b', 'x', '1000'], 'TALLY_LIMIT_INVALID'],
    [['io:b', '1000000001', '1000'], 'TALLY_LIMIT_INVALID'],
    [['io:b', '5', '0'], 'TALLY_WINDOW_INVALID'],
    [['io:b', '5', '-3'], 'TALLY_WINDOW_INVALID'],
    [['io:b', '5', '86400001'], 'TALLY_WINDOW_INVALID'],
    [['io:b', '5', '1.5'], 'TALLY_WINDOW_INVALID'],
    [['io:b', '5', '1000', 'AMOUNT', '6'], 'ERR value is not an integer or out of range'],
    [['io:b', '5', '1000', 'AMOUNT', '0'], 'ERR value is not an integer or out of range'],
    [['io:b', '5', '1000', 'AMOUNT'], 'ERR syntax error'],
    [['io:b', '5', '1000', 'BURST', '2'], 'ERR syntax error'],
    [['io:b', '5', '1000', 'KEY', ' x'], 'TALLY_IDEMPOTENCY_KEY_INVALID'],
    [['a b', '5', '1000'], 'TALLY_NAME_INVALID'],
    [['io:b', '5'], "ERR wrong number of arguments for 'tally.limit' command"],
  ])('TALLY.LIMIT %j → %s, nothing counted', async (args, message) => {
    const before = f.node.limits.table.tuples()
    await expect(r.call('TALLY.LIMIT', ...args)).rejects.toThrow(message)
    expect(f.node.limits.table.tuples()).toEqual(before)
  })

  it('is described by COMMAND DOCS', async () => {
    const docs = (await r.call('COMMAND', 'DOCS', 'tally.limit')) as unknown[]
    expect(JSON.stringify(docs)).toContain('[allowed 0/1, limit, remaining, resetMs]')
  })
})

describe.skipIf(!hasRedisCli)('TALLY.LIMIT (redis-cli; skipped without redis-cli)', () => {
  it('prints the four integers and the refusal', async () => {
    expect(await redisCli(f.port, ['tally.limit', 'cli:l', '2', '60000'])).toMatch(/^1\n2\n1\n\d+\n$/)
    expect(await redisCli(f.port, ['tally.limit', 'cli:l', '2', '60000'])).toMatch(/^1\n2\n0\n\d+\n$/)
    expect(await redisCli(f.port, ['tally.limit', 'cli:l', '2', '60000'])).toMatch(/^0\n2\n0\n\d+\n$/)
    expect(await redisCli(f.port, ['tally.limit', 'cli:l', '0', '60000'])).toContain('TALLY_LIMIT_INVALID')
  })
})
