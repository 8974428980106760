// Real sockets on 127.0.0.1 (port 0).
import net from 'node:net'
import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeFrame } from '../../src/wire/frame-codec.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { splitAddr, TcpTransport } from '../../src/wire/tcp-transport.js'
import { silent } from '../support/sim.js'

const open: TcpTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
})

function transport(opts: Partial<ConstructorParameters<typeof TcpTransport>[0]> = {}): TcpTransport {
  const t = new TcpTransport({ host: '127.0.0.1', port: 0, maxFrameBytes: 1 << 20, logger: silent, ...opts })
  open.push(t)
  return t
}

const leave = (f: string): Message => ({ t: MsgType.LEAVE, f })

async function rawSend(addr: string, bytes: Buffer): Promise<boolean> {
  const hp = splitAddr(addr)!
  return new Promise((resolve) => {
    const s = net.connect(hp.port, hp.host, () => s.write(bytes))
    s.on('error', () => {})
    s.on('close', () => resolve(true))
    setTimeout(() => {
      s.destroy()
      resolve(false)
    }, 2000)
  })
}

/** A raw client: what it received, and a promise of the close with its time since connect. */
function rawClient(addr: string): {
  socket: net.Socket
  received: Buffer[]
  closed: Promise<number>
  connected: Promise<void>
} {
  const hp = splitAddr(addr)!
  const received: Buffer[] = []
  const t0 = Date.now()
  const socket = net.connect(hp.port, hp.host)
  socket.on('error', () => {})
  socket.on('data', (d) => received.push(d))
  const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - t0)))
  const connected = new Promise<void>((r) => socket.once('connect', () => r()))
  return { socket, received, closed, connected }
}

describe('TcpTransport', () => {
  it('delivers messages in order over one persistent connection, batching small frames', async () => {
    const a = transport()
    const b = transport()
    await a.listen()
    const bAddr = await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    for (let i = 0; i < 1000; i++) a.send(bAddr, leave(`n${i}`))
    await until(() => got.length === 1000, { what: 'all messages', timeoutMs: 10_000 })
    expect(got[0]).toBe('n0')
    expect(got[999]).toBe('n999')
    const s = a.stats()
    expect(s.framesOut).toBe(1000)
    expect(s.connectFailures).toBe(0)
    expect(b.stats().openConnections).toBe(1)
  })

  it('respects backpressure: a large volume arrives complete', async () => {
    const a = transport()
    const b = transport({ maxFrameBytes: 8 << 20 })
    await a.listen()
    const bAddr = await b.listen()
    let n = 0
    b.onMessage(() => n++)
    const big: Message = {
      t: MsgType.PUSH,
      f: 'a',
      delta: { ranges: [], entries: [['x'.repeat(100_000), 'r', 1, 0, 1]] },
    }
    for (let i = 0; i < 300; i++) a.send(bAddr, big)
    await until(() => n === 300, { what: '30 MB delivered', timeoutMs: 20_000 })
    expect(a.stats().dropped).toBe(0)
  })

  it('authenticates with a cluster key; frames from a node with another key are dropped and counted', async () => {
    const a = transport({ clusterKey: 'secret-one' })
    const b = transport({ clusterKey: 'secret-one' })
    const c = transport({ clusterKey: 'secret-two' })
    await a.listen()
    await c.listen()
    const bAddr = await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    a.send(bAddr, leave('good'))
    c.send(bAddr, leave('evil'))
    await until(() => got.includes('good') && b.stats().badFrames.auth === 1, {
      what: 'auth outcome',
      timeoutMs: 5000,
    })
    expect(got).toEqual(['good'])
  })

  it('closes a connection on a bad frame, counts it, and keeps serving others', async () => {
    const b = transport()
    const bAddr = await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    const oversize = Buffer.alloc(8)
    oversize.writeUInt32BE(0x7fffffff, 0)
    expect(await rawSend(bAddr, oversize)).toBe(true)
    expect(await rawSend(bAddr, encodeFrame({ t: 42 }))).toBe(true)
    expect(
      await rawSend(
        bAddr,
        Buffer.concat([encodeFrame(leave('ok')), Buffer.from([0, 0, 0, 3, 1, 0xc1, 0xc1])]),
      ),
    ).toBe(true)
    await until(() => b.stats().badFrames.shape >= 1 && b.stats().badFrames.oversize === 1, {
      what: 'bad frames counted',
      timeoutMs: 5000,
    })
    expect(got).toEqual(['ok'])
    const a = transport()
    a.send(bAddr, leave('after'))
    await until(() => got.includes('after'), { what: 'still serving', timeoutMs: 5000 })
  })

  it('times out a connection that leaves a frame incomplete', async () => {
    const b = transport({ readTimeoutMs: 200 })
    const bAddr = await b.listen()
    const half = encodeFrame(leave('x')).subarray(0, 6)
    expect(await rawSend(bAddr, half)).toBe(true)
    expect(b.stats().badFrames.timeout).toBe(1)
  })

  it('drops while a peer is unreachable, then reconnects with backoff when it is back', async () => {
    const probe = net.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()))
    const port = (probe.address() as net.AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const a = transport({ backoffBaseMs: 20, backoffMaxMs: 100 })
    const addr = `127.0.0.1:${port}`
    a.send(addr, leave('lost'))
    await until(() => a.stats().connectFailures >= 1, { what: 'connect failure', timeoutMs: 5000 })
    const b = transport({ port })
    await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    await until(
      () => {
        a.send(addr, leave('back'))
        return got.includes('back')
      },
      { what: 'reconnect', timeoutMs: 5000 },
    )
    expect(got).not.toContain('lost')
  })

  it('drop closes the link to a peer that looks down; the next send opens a fresh one without back-off', async () => {
    const a = transport()
    const b = transport()
    const bAddr = await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    a.send(bAddr, leave('one'))
    await until(() => got.includes('one'), { what: 'first message', timeoutMs: 5000 })
    a.drop(bAddr)
    await until(() => b.stats().openConnections === 0, {
      what: 'link closed on the far side',
      timeoutMs: 5000,
    })
    a.send(bAddr, leave('two'))
    await until(() => got.includes('two'), { what: 'message on a fresh link', timeoutMs: 5000 })
    expect(a.stats().linksDropped).toBe(1)
    expect(a.stats().connectFailures).toBe(0)
  })

  it('heard forgets the back-off towards a peer that just spoke', () => {
    const a = transport({ backoffBaseMs: 60_000, backoffMaxMs: 60_000 })
    a.send('unparsable', leave('x'))
    expect(a.stats().connectFailures).toBe(1)
    a.send('unparsable', leave('x'))
    expect(a.stats().connectFailures).toBe(1) // in back-off: dropped without trying
    a.heard('unparsable')
    a.send('unparsable', leave('x'))
    expect(a.stats().connectFailures).toBe(2)
  })

  it('closes a connection whose queued bytes stop draining', async () => {
    const stuck: net.Socket[] = []
    const sink = net.createServer({ pauseOnConnect: true }, (s) => {
      stuck.push(s)
      s.on('error', () => {})
    })
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (sink.address() as net.AddressInfo).port
      const a = transport({ writeStallMs: 200, maxQueueBytes: 256 << 20 })
      const big: Message = {
        t: MsgType.PUSH,
        f: 'a',
        delta: { ranges: [], entries: [['x'.repeat(1_000_000), 'r', 1, 0, 1]] },
      }
      // Far more than the kernel buffers of both ends hold: the writer must wait for 'drain'.
      for (let i = 0; i < 64; i++) a.send(`127.0.0.1:${port}`, big)
      await until(() => a.stats().writeStalls === 1, { what: 'stalled link closed', timeoutMs: 10_000 })
      await until(() => a.stats().openConnections === 0, { what: 'no link left open', timeoutMs: 5000 })
    } finally {
      for (const s of stuck) s.destroy()
      await new Promise<void>((r) => sink.close(() => r()))
    }
  })

  it('with a cluster key, a dialer without it is closed after 32 bytes: a declared 60 MiB frame is never held', async () => {
    const b = transport({ clusterKey: 'the-real-key', maxFrameBytes: 64 << 20 })
    const bAddr = await b.listen()
    const c = rawClient(bAddr)
    await until(() => Buffer.concat(c.received).length >= 17, { what: 'HELLO', timeoutMs: 5000 })
    const header = Buffer.alloc(4)
    header.writeUInt32BE(60 << 20, 0)
    c.socket.write(Buffer.concat([header, Buffer.alloc(1 << 20, 7)]))
    await c.closed
    expect(b.stats().badFrames.auth).toBe(1)
    expect(b.stats().inboundHeldBytes).toBe(0)
    expect(b.stats().framesIn).toBe(0)
  })

  it('closes a connection that neither proves the key nor sends a first frame in time', async () => {
    for (const clusterKey of ['the-real-key', undefined]) {
      const b = transport({ clusterKey, readTimeoutMs: 200 })
      const c = rawClient(await b.listen())
      await c.connected
      const ms = await c.closed
      expect(ms).toBeLessThan(2000)
      expect(b.stats().badFrames.timeout).toBe(1)
    }
  })

  it('a frame whose header arrived but not a byte of its body still times out', async () => {
    const b = transport({ readTimeoutMs: 200 })
    const c = rawClient(await b.listen())
    await c.connected
    c.socket.write(encodeFrame(leave('first')))
    const header = Buffer.alloc(4)
    header.writeUInt32BE(1000, 0)
    c.socket.write(header)
    await c.closed
    expect(b.stats().badFrames.timeout).toBe(1)
  })

  it('drip-fed bytes do not extend a frame deadline', async () => {
    const b = transport({ readTimeoutMs: 300 })
    const c = rawClient(await b.listen())
    await c.connected
    const header = Buffer.alloc(4)
    header.writeUInt32BE(1000, 0)
    c.socket.write(header)
    let closed = false
    void c.closed.then(() => {
      closed = true
    })
    // One byte every 50 ms for up to 3 s: far longer than the deadline.
    for (let i = 0; i < 60 && !closed; i++) {
      c.socket.write(Buffer.of(1))
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(closed).toBe(true)
    expect(b.stats().badFrames.timeout).toBe(1)
  })

  it('holds at most the shared budget of incomplete frames across connections', async () => {
    const b = transport({ maxFrameBytes: 16 << 20, inboundBudgetBytes: 1 << 20 })
    const bAddr = await b.listen()
    const clients = Array.from({ length: 6 }, () => rawClient(bAddr))
    await Promise.all(clients.map((c) => c.connected))
    const header = Buffer.alloc(4)
    header.writeUInt32BE(8 << 20, 0)
    let maxHeld = 0
    for (const c of clients) {
      c.socket.write(Buffer.concat([header, Buffer.alloc(300 << 10, 1)]))
    }
    await until(
      () => {
        maxHeld = Math.max(maxHeld, b.stats().inboundHeldBytes)
        return b.stats().badFrames.budget >= 2
      },
      { what: 'budget refusals', timeoutMs: 5000 },
    )
    expect(maxHeld).toBeLessThanOrEqual(1 << 20)
    expect(b.stats().inboundHeldBytes).toBeLessThanOrEqual(1 << 20)
    for (const c of clients) c.socket.destroy()
    await until(() => b.stats().inboundHeldBytes === 0, { what: 'budget released on close', timeoutMs: 5000 })
    // Legitimate traffic still flows.
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    const a = transport()
    a.send(bAddr, leave('after'))
    await until(() => got.includes('after'), { what: 'still serving', timeoutMs: 5000 })
  })

  it('splitAddr parses host:port and bracketed IPv6', () => {
    expect(splitAddr('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 })
    expect(splitAddr('[::1]:9000')).toEqual({ host: '::1', port: 9000 })
    expect(splitAddr('nope')).toBeNull()
    expect(splitAddr('h:0')).toBeNull()
  })
})
