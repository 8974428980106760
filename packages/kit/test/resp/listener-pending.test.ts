// The listener's promise-free reply path: a handler's Pending reply holds its
// place in the pipeline, is written once settled, and an error it settles with
// is rendered as any thrown error.
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import type { CommandSpec } from '../../src/resp/command-table.js'
import { RespListener } from '../../src/resp/listener.js'
import { Pending } from '../../src/resp/pending.js'
import { int, type Reply, simple } from '../../src/resp/reply.js'

const silent = { debug() {}, info() {}, error() {} }
const spec = (name: string, handler: CommandSpec['handler']): CommandSpec => ({
  name,
  arity: 2,
  flags: ['fast'],
  keys: [1, 1, 1],
  group: 'tally',
  summary: name,
  handler,
})

let listener: RespListener | undefined
let client: Redis | undefined
afterEach(async () => {
  client?.disconnect()
  client = undefined
  await listener?.close()
  listener = undefined
})

describe('pending replies', () => {
  it('keep their place among immediate and promised replies, settled in any order', async () => {
    const held = new Map<string, Pending<number>>()
    let settleAll: () => void = () => {}
    const allHeld = new Promise<void>((resolve) => {
      settleAll = resolve
    })
    listener = new RespListener({
      host: '127.0.0.1',
      port: 0,
      serverName: 'test',
      version: '0',
      logger: silent,
      commands: [
        spec('later', (a) => {
          const p = new Pending<number>()
          held.set(a[1] as string, p)
          if (held.size === 3) settleAll()
          return p.map((v): Reply => int(v))
        }),
        spec('now', (a) => simple(`now-${a[1]}`)),
        spec('soon', async (a) => simple(`soon-${a[1]}`)),
      ],
    })
    const { port } = await listener.listen()
    client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 })
    await client.connect()
    const pipe = client.pipeline()
    pipe.call('later', 'a')
    pipe.call('now', '1')
    pipe.call('later', 'b')
    pipe.call('soon', '2')
    pipe.call('later', 'c')
    const replies = pipe.exec()
    await allHeld
    // Last first: nothing may overtake the first pending reply.
    held.get('c')?.resolve(30)
    held
      .get('b')
      ?.reject(Object.assign(new Error('counter total would pass 2^53-1'), { code: 'TALLY_OVERFLOW' }))
    held.get('a')?.resolve(10)
    const out = await replies
    expect(out?.map(([err, v]) => (err ? (err as Error).message : v))).toEqual([
      10,
      'now-1',
      'ERR increment or decrement would overflow',
      'soon-2',
      30,
    ])
  })

  it('are written at once when the handler returns them settled', async () => {
    listener = new RespListener({
      host: '127.0.0.1',
      port: 0,
      serverName: 'test',
      version: '0',
      logger: silent,
      commands: [spec('ready', (a) => Pending.resolved(Number(a[1])).map((v): Reply => int(v)))],
    })
    const { port } = await listener.listen()
    client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 })
    await client.connect()
    expect(await client.call('ready', '5')).toBe(5)
  })
})
