// Plain writes of a pipeline (and of every connection in one event-loop turn)
// are applied as one batch: each command still answers in order with its own
// value, errors in their place, and no reply leaves before the batch is durable.
import { connect } from 'node:net'
import type { Delta } from '@tally/crdt'
import { until } from '@tally/kit/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { type RespFixture, startRespNode } from './support.js'

/** A MemoryStore whose local appends wait until the test releases them. */
class HeldStore extends MemoryStore {
  holding = false
  appends = 0
  readonly held: Array<() => void> = []
  override appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void> {
    this.appends++
    if (!this.holding) return super.appendLocal(delta, idem)
    return new Promise((resolve) => this.held.push(() => resolve(super.appendLocal(delta, idem))))
  }
  releaseAll(): void {
    this.holding = false
    for (const r of this.held.splice(0)) r()
  }
}

let f: RespFixture | undefined
let clients: Redis[] = []
const stores: HeldStore[] = []
afterEach(async () => {
  for (const c of clients) c.disconnect()
  clients = []
  for (const s of stores.splice(0)) s.releaseAll()
  await f?.stop()
  f = undefined
})

async function client(port: number): Promise<Redis> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
  clients.push(r)
  await r.connect()
  return r
}

describe('batched RESP writes', () => {
  it('writes batched after a DEL count from 0, in one pipeline and in the next', async () => {
    f = await startRespNode({}, 'batch-deleted')
    const r = await client(f.port)
    const res = await r
      .pipeline()
      .incr('b:del')
      .incr('b:del')
      .del('b:del')
      .incr('b:del')
      .incrby('b:del', 4)
      .exec()
    expect(res?.map(([err, v]) => err ?? v)).toEqual([1, 2, 1, 1, 5])
    // A batch of its own on the deleted counter, then the value read back.
    const again = await r.pipeline().incr('b:del').decrby('b:del', 2).get('b:del').exec()
    expect(again?.map(([err, v]) => err ?? v)).toEqual([6, 4, '4'])
    expect(await r.del('b:del')).toBe(1)
    expect(await r.pipeline().incr('b:del').incr('b:del').exec()).toEqual([
      [null, 1],
      [null, 2],
    ])
  })

  it('a pipeline of mixed commands answers in order, each write with its own value, errors in place', async () => {
    const store = new HeldStore()
    stores.push(store)
    f = await startRespNode({}, 'batch-mixed', store)
    const r = await client(f.port)
    await r.incrby('b:pre', 10)
    const appends = store.appends
    const res = await r
      .pipeline()
      .incr('b:a')
      .incr('b:a')
      .incrby('b:pre', 5)
      .get('b:a')
      .decr('b:a')
      .incrby('b:a', 'x' as unknown as number)
      .call('TALLY.INCRBY', 'b:a', '10')
      .call('TALLY.INCRBY', 'b:k', '3', 'KEY', 'batch-key-1')
      .incr('b:a')
      .incr('bad name')
      .set('b:a', '1')
      .incrby('b:a', 0)
      .decrby('b:pre', -2)
      .call('TALLY.INCRBY', 'b:k', '3', 'KEY', 'batch-key-1')
      .mget('b:a', 'b:pre', 'b:none')
      .exec()
    const shown = (res ?? []).map(([err, v]) => (err ? `ERR:${err.message.slice(0, 60)}` : v))
    expect(shown).toEqual([
      1,
      2,
      15,
      '2',
      1,
      'ERR:ERR value is not an integer or out of range',
      11,
      3,
      12,
      expect.stringMatching(/^ERR:.*TALLY_NAME_INVALID/),
      expect.stringMatching(/^ERR:ERR 'set' is not supported/),
      12,
      17,
      3,
      ['12', '17', null],
    ])
    expect(f.node.value('b:a')).toBe(12)
    expect(f.node.value('b:k')).toBe(3)
    // 8 writes, 5 appends: the plain writes before each read or keyed write form one batch
    // (a,a,pre | decr,tally | keyed | incr | decrby); the repeated key writes nothing.
    expect(store.appends - appends).toBe(5)
  })

  it('writes of several connections in one turn share one append and each see their own value', async () => {
    const store = new HeldStore()
    stores.push(store)
    f = await startRespNode({}, 'batch-conns', store)
    const rs = await Promise.all(Array.from({ length: 8 }, () => client((f as RespFixture).port)))
    const before = store.appends
    const replies = await Promise.all(rs.flatMap((r) => [r.incr('b:shared'), r.incr('b:shared')]))
    expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1))
    expect(f.node.value('b:shared')).toBe(16)
    expect(store.appends - before).toBeLessThan(16)
  })

  it('no reply to a batch leaves before the store made it durable', async () => {
    const store = new HeldStore()
    stores.push(store)
    f = await startRespNode({}, 'batch-held', store)
    const port = f.port
    const sock = connect(port, '127.0.0.1')
    let received = ''
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1')
    })
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
    try {
      store.holding = true
      sock.write(
        '*2\r\n$4\r\nINCR\r\n$1\r\nh\r\n*2\r\n$4\r\nINCR\r\n$1\r\nh\r\n*3\r\n$6\r\nINCRBY\r\n$1\r\nh\r\n$1\r\n5\r\n',
      )
      await until(() => store.held.length === 1, { what: 'the batch reached the store', timeoutMs: 5_000 })
      // Applied in memory, held by the store: nothing answered yet.
      expect(f.node.map.value('h')).toBe(7)
      expect(received).toBe('')
      store.releaseAll()
      await until(() => received === ':1\r\n:2\r\n:7\r\n', { what: 'the three replies', timeoutMs: 5_000 })
    } finally {
      sock.destroy()
    }
  })
})
