// --resp-password: NOAUTH until AUTH / HELLO … AUTH; wrong passwords change nothing.
import { RawResp } from '@tally/kit/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RespFixture, startRespNode } from './support.js'

let f: RespFixture
beforeAll(async () => {
  f = await startRespNode({ password: 's3cret-pw' }, 'auth')
})
afterAll(async () => {
  await f.stop()
})

const NOAUTH = { error: 'NOAUTH Authentication required.' }
const WRONGPASS = { error: 'WRONGPASS invalid username-password pair or user is disabled.' }

describe('auth', () => {
  it('only PING, AUTH, HELLO and QUIT are served before AUTH; nothing changes', async () => {
    const c = await RawResp.open(f.port)
    expect(await c.call('PING')).toBe('PONG')
    for (const cmd of [
      ['INCR', 'a'],
      ['GET', 'a'],
      ['TALLY.INCRBY', 'a', '1'],
      ['FOO'],
      ['INFO'],
      ['HELLO', '3'],
    ]) {
      const got = await c.call(...cmd)
      if (cmd[0] === 'HELLO') expect((got as { error: string }).error).toMatch(/^NOAUTH HELLO must be called/)
      else expect(got).toEqual(NOAUTH)
    }
    expect(await c.call('AUTH', 'wrong')).toEqual(WRONGPASS)
    expect(await c.call('AUTH', 'someone', 's3cret-pw')).toEqual(WRONGPASS)
    expect(await c.call('HELLO', '3', 'AUTH', 'default', 'nope')).toEqual(WRONGPASS)
    expect(await c.call('INCR', 'a')).toEqual(NOAUTH)
    expect(f.node.map.size).toBe(0)
    expect(await c.call('AUTH', 's3cret-pw')).toBe('OK')
    expect(await c.call('INCR', 'a')).toBe(1)
    expect(await c.call('RESET')).toBe('RESET')
    expect(await c.call('INCR', 'a')).toEqual(NOAUTH)
    expect(await c.call('QUIT')).toBe('OK')
    await c.waitClosed()
  })

  it('HELLO 3 AUTH default <password> authenticates and switches protocol', async () => {
    const c = await RawResp.open(f.port)
    const hello = (await c.call('HELLO', '3', 'AUTH', 'default', 's3cret-pw')) as Map<unknown, unknown>
    expect(hello.get('proto')).toBe(3)
    expect(await c.call('GET', 'never')).toBeNull()
    c.close()
  })

  it('ioredis with password works; without it gets NOAUTH', async () => {
    const ok = new Redis({ port: f.port, host: '127.0.0.1', password: 's3cret-pw', lazyConnect: true })
    await ok.connect()
    expect(await ok.incr('io')).toBe(1)
    ok.disconnect()
    const no = new Redis({ port: f.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
    no.on('error', () => {})
    await no.connect().catch(() => {})
    await expect(no.incr('io')).rejects.toThrow(/NOAUTH/)
    no.disconnect()
    expect(f.node.value('io')).toBe(1)
  })
})
