// One exchange with a node (upstream.ts) over real sockets: answers relayed
// as raw text, pipelining on one connection, and the attempt budget bounding
// hangs and queueing.

import { createServer, type Server, type Socket } from 'node:net'
import { Cleanup } from '@tally/kit/testing'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { coalesceWrites, createPool, PIPELINING, send, UpstreamError, withNode } from '../src/upstream.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

describe('withNode', () => {
  it.each([
    ['{"name":"a","value":1}', '{"name":"a","value":1,"node":"n1"}'],
    ['{}', '{"node":"n1"}'],
    [' { } \n', ' {"node":"n1"}'],
    ['{"value":2}\n', '{"value":2,"node":"n1"}'],
    ['{"counters":[{"name":"a","value":1}]}', '{"counters":[{"name":"a","value":1}],"node":"n1"}'],
  ])('%j → %j', (text, out) => {
    expect(withNode(text, 'n1')).toBe(out)
  })

  it('parses as the node answer with node set last, whatever the id', () => {
    for (const id of ['n"1', 'http://127.0.0.1:1', '\u2028x']) {
      const text = JSON.stringify({ name: 'a', value: 3, node: 'spoofed' })
      expect(JSON.parse(withNode(text, id))).toEqual({ name: 'a', value: 3, node: id })
    }
  })
})

// A node whose sockets and requests are counted.
async function counting(
  answerMs = 0,
  writeMs = 0,
): Promise<{ url: string; sockets: () => number; maxInflight: () => number }> {
  const app = Fastify({ logger: false, forceCloseConnections: true })
  let sockets = 0
  let inflight = 0
  let maxInflight = 0
  app.server.on('connection', () => sockets++)
  app.get('/counter', async () => {
    maxInflight = Math.max(maxInflight, ++inflight)
    if (answerMs > 0) await new Promise((r) => setTimeout(r, answerMs))
    inflight--
    return { name: 'default', value: 7 }
  })
  app.post('/increment', async () => {
    maxInflight = Math.max(maxInflight, ++inflight)
    if (writeMs > 0) await new Promise((r) => setTimeout(r, writeMs))
    inflight--
    return { name: 'default', value: 8 }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  cleanup.add(() => app.close())
  const { port } = app.server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, sockets: () => sockets, maxInflight: () => maxInflight }
}

// A TCP server that accepts and never answers.
async function silent(): Promise<string> {
  const held: Socket[] = []
  const srv: Server = createServer((s) => held.push(s))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  cleanup.add(
    () =>
      new Promise<void>((r) => {
        for (const s of held) s.destroy()
        srv.close(() => r())
      }),
  )
  const { port } = srv.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

describe('send', () => {
  it('resolves with status, raw text and parsed JSON', async () => {
    const node = await counting()
    const pool = createPool(node.url, 2000)
    cleanup.add(() => pool.close())
    const a = await send(pool, { method: 'POST', path: '/increment', body: { amount: 1 }, timeoutMs: 2000 })
    expect(a).toEqual({
      status: 200,
      text: '{"name":"default","value":8}',
      json: { name: 'default', value: 8 },
    })
    const nf = await send(pool, { method: 'GET', path: '/nope', timeoutMs: 2000 })
    expect(nf.status).toBe(404)
  })

  it('pipelines reads: more in flight at the node than connections', async () => {
    const node = await counting(50)
    const pool = createPool(node.url, 5000, 2)
    cleanup.add(() => pool.close())
    const n = PIPELINING * 2
    const answers = await Promise.all(
      Array.from({ length: n }, () => send(pool, { method: 'GET', path: '/counter', timeoutMs: 5000 })),
    )
    expect(answers.every((a) => a.status === 200 && a.text === '{"name":"default","value":7}')).toBe(true)
    expect(node.sockets()).toBeLessThanOrEqual(2)
    // Without pipelining at most one request per connection would be in flight.
    expect(node.maxInflight()).toBeGreaterThan(2)
  })

  it('never pipelines a write: one connection carries one write at a time', async () => {
    const node = await counting(0, 50)
    const pool = createPool(node.url, 5000, 1)
    cleanup.add(() => pool.close())
    const post = () =>
      send(pool, { method: 'POST', path: '/increment', body: { amount: 1 }, timeoutMs: 5000 })
    const answers = await Promise.all([post(), post(), post()])
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    expect(node.maxInflight()).toBe(1)
  })

  it('rejects with a timeout when the node never answers, within the attempt budget', async () => {
    const url = await silent()
    const pool = createPool(url, 5000)
    cleanup.add(() => pool.destroy())
    const t0 = Date.now()
    const err = await send(pool, { method: 'GET', path: '/counter', timeoutMs: 200 }).catch((e) => e)
    expect(err).toBeInstanceOf(UpstreamError)
    expect((err as UpstreamError).kind).toBe('timeout')
    expect(Date.now() - t0).toBeLessThan(4000)
  })
})

describe('coalesceWrites', () => {
  // A socket that records what reaches it and whether it is corked at each write.
  function fakeSocket() {
    const log: string[] = []
    let corks = 0
    const s = {
      write(chunk: unknown): boolean {
        log.push(`${corks > 0 ? 'corked' : 'direct'}:${String(chunk)}`)
        return true
      },
      cork(): void {
        corks++
        log.push('cork')
      },
      uncork(): void {
        corks--
        log.push('uncork')
      },
    }
    return { s, log }
  }

  it('corks on the first write of a turn and flushes once, in order, before the next turn', async () => {
    const { s, log } = fakeSocket()
    coalesceWrites(s)
    s.write('a')
    s.write('b')
    s.write('c')
    expect(log).toEqual(['cork', 'corked:a', 'corked:b', 'corked:c'])
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['cork', 'corked:a', 'corked:b', 'corked:c', 'uncork'])
    s.write('d')
    await new Promise((r) => setImmediate(r))
    expect(log.slice(5)).toEqual(['cork', 'corked:d', 'uncork'])
  })

  it('a pool answers through coalesced connections (reads and writes)', async () => {
    const node = await counting()
    const pool = createPool(node.url, 5000)
    cleanup.add(() => pool.close())
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => send(pool, { method: 'GET', path: '/counter', timeoutMs: 5000 })),
      send(pool, { method: 'POST', path: '/increment', body: { amount: 1 }, timeoutMs: 5000 }),
    ])
    expect(answers.map((a) => a.status)).toEqual(Array(21).fill(200))
  })
})
