// Pipelined reads to one node (read-channel.ts) over real sockets, against
// raw TCP servers that answer (or misbehave) exactly as each case needs.

import { createServer, type Server, Socket } from 'node:net'
import { Cleanup, listenOnFreePort, until } from '@tally/kit/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { READ_DEPTH, ReadChannel } from '../src/read-channel.js'
import { UpstreamError } from '../src/upstream.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

interface RawNode {
  readonly origin: string
  /** Connections accepted so far. */
  readonly sockets: Socket[]
  /** Every `data` event: connection index and the request lines it held. */
  readonly reads: Array<{ conn: number; paths: string[] }>
  /** Every complete request, in arrival order: its connection, head (without the blank line) and body. */
  readonly requests: Array<{ conn: number; head: string; body: string }>
}

/**
 * A node speaking raw HTTP/1.1: `answer(path, conn)` returns the bytes to
 * send back for each request (undefined: stay silent).
 */
async function rawNode(
  answer: (path: string, conn: number, socket: Socket) => string | undefined,
): Promise<RawNode> {
  const sockets: Socket[] = []
  const reads: RawNode['reads'] = []
  const requests: RawNode['requests'] = []
  const server: Server = createServer((socket) => {
    const conn = sockets.push(socket) - 1
    let buf = ''
    socket.on('error', () => {})
    socket.on('data', (d) => {
      buf += d.toString('latin1')
      const paths: string[] = []
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end)
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0)
        if (buf.length < end + 4 + length) break
        const path = head.split(' ')[1] ?? ''
        requests.push({ conn, head, body: buf.slice(end + 4, end + 4 + length) })
        buf = buf.slice(end + 4 + length)
        paths.push(path)
        const out = answer(path, conn, socket)
        if (out !== undefined && !socket.destroyed) socket.write(out)
      }
      reads.push({ conn, paths })
    })
  })
  const port = await listenOnFreePort(server)
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return { origin: `http://127.0.0.1:${port}`, sockets, reads, requests }
}

const json = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

function channel(origin: string): ReadChannel {
  const c = new ReadChannel(origin)
  cleanup.add(() => c.close())
  return c
}

describe('ReadChannel', () => {
  it('sends the reads of one turn in one write on one connection and answers each its own', async () => {
    const node = await rawNode((path) => json(`{"path":${JSON.stringify(path)}}`))
    const c = channel(node.origin)
    // Connected first: a connecting socket would gather the writes by itself.
    expect((await c.get('/warm', 2000)).status).toBe(200)
    const port = Number(new URL(node.origin).port)
    const writes = vi.spyOn(Socket.prototype, 'write')
    const paths = Array.from({ length: 10 }, (_, i) => `/counters/c${i}`)
    const answers = await Promise.all(paths.map((p) => c.get(p, 2000)))
    const toNode = writes.mock.contexts.filter((s) => (s as Socket).remotePort === port)
    writes.mockRestore()
    expect(answers.map((a) => (a.json as { path: string }).path)).toEqual(paths)
    expect(answers.every((a) => a.status === 200)).toBe(true)
    // The connection is kept, and the ten requests leave in one write.
    expect(toNode.length).toBe(1)
    expect(node.sockets.length).toBe(1)
    expect(node.reads.at(-1)).toEqual({ conn: 0, paths })
  })

  it(`opens another connection past ${READ_DEPTH} reads in flight on one`, async () => {
    const node = await rawNode((path) => json(`{"path":${JSON.stringify(path)}}`))
    const c = channel(node.origin)
    const paths = Array.from({ length: READ_DEPTH + 1 }, (_, i) => `/c${i}`)
    const answers = await Promise.all(paths.map((p) => c.get(p, 2000)))
    expect(answers.map((a) => (a.json as { path: string }).path)).toEqual(paths)
    expect(node.sockets.length).toBe(2)
  })

  it('relays any status with its raw text', async () => {
    const body = '{"error":{"code":"TALLY_NAME_INVALID","message":"bad"}}'
    const node = await rawNode(
      () => `HTTP/1.1 400 Bad Request\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    )
    const a = await channel(node.origin).get('/counters/%00', 2000)
    expect(a).toEqual({ status: 400, text: body, json: JSON.parse(body) })
  })

  it('a read whose time is up fails as a timeout; the reads behind it are re-sent on a new connection', async () => {
    // The first connection hangs at /slow (answering nothing from there on); the second answers all.
    let hung = false
    const node = await rawNode((path, conn) => {
      if (conn === 0 && (hung || path === '/slow')) {
        hung = true
        return undefined
      }
      return json('{"v":1}')
    })
    const c = channel(node.origin)
    const slow = c.get('/slow', 150)
    const behind = c.get('/counter', 5000)
    const t0 = Date.now()
    await expect(slow).rejects.toMatchObject({ kind: 'timeout' })
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(await behind).toMatchObject({ status: 200, json: { v: 1 } })
    expect(node.sockets.length).toBe(2)
    expect(node.reads.filter((r) => r.conn === 1).flatMap((r) => r.paths)).toEqual(['/counter'])
  })

  it('reads cut off by the node closing are re-sent once; a node that keeps doing it fails them', async () => {
    let closes = 0
    const node = await rawNode((path, conn, socket) => {
      if (path === '/flaky' && conn === 0) {
        closes++
        socket.destroy()
        return undefined
      }
      if (path === '/always') {
        socket.destroy()
        return undefined
      }
      return json('{"ok":true}')
    })
    const c = channel(node.origin)
    expect(await c.get('/flaky', 2000)).toMatchObject({ status: 200, json: { ok: true } })
    expect(closes).toBe(1)
    await expect(c.get('/always', 2000)).rejects.toMatchObject({ kind: 'network' })
  })

  it('Connection: close ends the connection after that answer; later reads go on a new one', async () => {
    const node = await rawNode((_path, conn, socket) => {
      if (conn === 0) {
        socket.end(json('{"n":0}', 'connection: close\r\n'))
        return undefined
      }
      return json(`{"n":${conn}}`)
    })
    const c = channel(node.origin)
    const [a, b] = await Promise.all([c.get('/a', 2000), c.get('/b', 2000)])
    expect(a.json).toEqual({ n: 0 })
    expect(b.json).toEqual({ n: 1 })
    expect(node.sockets.length).toBe(2)
  })

  it('a malformed answer fails the read after one re-send', async () => {
    const node = await rawNode(() => 'HTTP/9 nonsense\r\n\r\n')
    await expect(channel(node.origin).get('/counter', 2000)).rejects.toMatchObject({ kind: 'network' })
    expect(node.sockets.length).toBe(2)
  })

  it('refused connections fail as connect errors', async () => {
    // Nothing ever listens on port 0: the connection is refused.
    const err = await channel('http://127.0.0.1:0')
      .get('/counter', 2000)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UpstreamError)
    expect(err).toMatchObject({ kind: 'connect' })
  })

  it('never sends a target with spaces or line breaks', async () => {
    const node = await rawNode(() => json('{}'))
    const c = channel(node.origin)
    for (const bad of ['/a b', '/a\r\nx: 1', 'a', '']) {
      await expect(c.get(bad, 2000)).rejects.toMatchObject({ kind: 'connect' })
    }
    expect(node.sockets.length).toBe(0)
  })

  it('close() lets reads in flight finish, closes the connections, and refuses new reads', async () => {
    let release: (() => void) | undefined
    const node = await rawNode((_path, _conn, socket) => {
      release = () => socket.write(json('{"late":true}'))
      return undefined
    })
    const c = new ReadChannel(node.origin)
    const inflight = c.get('/counter', 5000)
    await until(() => release !== undefined, { what: 'the node got the read', timeoutMs: 5000 })
    let closed = false
    const closing = c.close().then(() => {
      closed = true
    })
    await expect(c.get('/counter', 2000)).rejects.toMatchObject({ kind: 'connect' })
    expect(closed).toBe(false)
    release?.()
    expect(await inflight).toMatchObject({ json: { late: true } })
    await closing
    await until(() => node.sockets[0]?.readableEnded === true || node.sockets[0]?.destroyed === true, {
      what: 'the connection closed',
      timeoutMs: 5000,
    })
    expect(c.connections).toBe(0)
  })

  it('refuses an origin that is not http:', () => {
    expect(() => new ReadChannel('https://127.0.0.1:1')).toThrow(TypeError)
    expect(() => new ReadChannel('http://127.0.0.1:1', { idleMs: 0 })).toThrow(RangeError)
  })

  it('closes a connection once it has had nothing in flight for idleMs, not one still waiting', async () => {
    let release: (() => void) | undefined
    const node = await rawNode((path, _conn, socket) => {
      if (path !== '/slow') return json('{"ok":true}')
      release = () => socket.write(json('{"slow":true}').repeat(READ_DEPTH))
      return undefined
    })
    const c = new ReadChannel(node.origin, { idleMs: 100 })
    cleanup.add(() => c.close())
    // Two connections: past READ_DEPTH reads waiting on the first, the next read opens a second.
    const slow = Array.from({ length: READ_DEPTH }, () => c.get('/slow', 10_000))
    await until(() => release !== undefined, { what: 'the node got the slow reads', timeoutMs: 5000 })
    expect((await c.get('/fast', 5000)).status).toBe(200)
    expect(c.connections).toBe(2)
    // The idle one goes; the one with reads in flight stays, however long they take.
    // Well before the default idle time (READ_IDLE_MS, 4 s): the channel's own idleMs is what closed it.
    await until(() => c.connections === 1, { what: 'the idle connection closed', timeoutMs: 3000 })
    await until(() => node.sockets[1]?.readableEnded === true || node.sockets[1]?.destroyed === true, {
      what: 'the node saw the idle connection close',
      timeoutMs: 5000,
    })
    expect(node.sockets[0]?.destroyed).toBe(false)
    release?.()
    expect((await Promise.all(slow)).map((a) => a.json)).toEqual(Array(READ_DEPTH).fill({ slow: true }))
    await until(() => c.connections === 0, { what: 'the drained connection closed', timeoutMs: 5000 })
  })
})

describe('ReadChannel.post (plain-level writes)', () => {
  it('pipelines the writes of one turn with their headers and bodies, each answered its own', async () => {
    const node = await rawNode((path) => json(`{"path":${JSON.stringify(path)}}`))
    const c = channel(node.origin)
    const answers = await Promise.all(
      [1, 2, 3].map((i) =>
        c.post(
          `/counters/c${i}/increment`,
          { 'idempotency-key': `k-${i}`, 'tally-attempt': '1' },
          { amount: i },
          2000,
        ),
      ),
    )
    expect(answers.map((a) => (a.json as { path: string }).path)).toEqual([
      '/counters/c1/increment',
      '/counters/c2/increment',
      '/counters/c3/increment',
    ])
    expect(node.sockets.length).toBe(1)
    expect(node.reads).toHaveLength(1)
    expect(node.requests.map((r) => r.body)).toEqual(['{"amount":1}', '{"amount":2}', '{"amount":3}'])
    const head = node.requests[1]?.head.split('\r\n') ?? []
    expect(head[0]).toBe('POST /counters/c2/increment HTTP/1.1')
    expect(head).toContain('content-type: application/json')
    expect(head).toContain('content-length: 12')
    expect(head).toContain('idempotency-key: k-2')
    expect(head).toContain('tally-attempt: 1')
  })

  it('a write cut off by the node closing is never re-sent: it fails as a network error', async () => {
    const node = await rawNode((path, _conn, socket) => {
      if (path === '/cut') {
        socket.destroy()
        return undefined
      }
      return json('{"ok":true}')
    })
    const c = channel(node.origin)
    const cut = c.post('/cut', {}, { amount: 1 }, 2000)
    const behind = c.post('/behind', {}, { amount: 1 }, 2000)
    await expect(cut).rejects.toMatchObject({ kind: 'network' })
    await expect(behind).rejects.toMatchObject({ kind: 'network' })
    // Both reached the node once; neither was sent again (a read would have been).
    expect(node.requests.map((r) => r.head.split(' ')[1])).toEqual(['/cut', '/behind'])
    expect(node.sockets.length).toBe(1)
  })

  it('a write whose time is up fails as a timeout and takes the writes behind it down, unsent again', async () => {
    const node = await rawNode(() => undefined)
    const c = channel(node.origin)
    const slow = c.post('/slow', {}, { amount: 1 }, 150)
    const behind = c.post('/behind', {}, { amount: 1 }, 5000)
    await expect(slow).rejects.toMatchObject({ kind: 'timeout' })
    await expect(behind).rejects.toMatchObject({ kind: 'network' })
    expect(node.requests.map((r) => r.head.split(' ')[1])).toEqual(['/slow', '/behind'])
  })

  it('refused connections fail as connect errors (the node surely did not get the write)', async () => {
    await expect(channel('http://127.0.0.1:0').post('/w', {}, { amount: 1 }, 2000)).rejects.toMatchObject({
      kind: 'connect',
    })
  })

  it('never sends a header, target or body that cannot go as is', async () => {
    const node = await rawNode(() => json('{}'))
    const c = channel(node.origin)
    await expect(c.post('/w', { 'idempotency-key': 'a\r\nx: 1' }, { amount: 1 }, 2000)).rejects.toMatchObject(
      {
        kind: 'connect',
      },
    )
    await expect(c.post('/w', { 'bad name': 'v' }, { amount: 1 }, 2000)).rejects.toMatchObject({
      kind: 'connect',
    })
    await expect(c.post('/a b', {}, { amount: 1 }, 2000)).rejects.toMatchObject({ kind: 'connect' })
    await expect(c.post('/w', {}, { name: 'é' }, 2000)).rejects.toMatchObject({ kind: 'connect' })
    await expect(c.post('/w', {}, undefined, 2000)).rejects.toMatchObject({ kind: 'connect' })
    expect(node.sockets.length).toBe(0)
  })
})
