// Real sockets on 127.0.0.1 (port 0).
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeFrame } from '../../src/wire/frame-codec.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { splitAddr, TcpTransport } from '../../src/wire/tcp-transport.js'
import { silent, until } from '../support/sim.js'

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

describe('TcpTransport', () => {
  it('delivers messages in order over one persistent connection, batching small frames', async () => {
    const a = transport()
    const b = transport()
    await a.listen()
    const bAddr = await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    for (let i = 0; i < 1000; i++) a.send(bAddr, leave(`n${i}`))
    await until(() => got.length === 1000, 10_000, 'all messages')
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
    await until(() => n === 300, 20_000, '30 MB delivered')
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
    await until(() => got.includes('good') && b.stats().badFrames.auth === 1, 5000, 'auth outcome')
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
    await until(
      () => b.stats().badFrames.shape >= 1 && b.stats().badFrames.oversize === 1,
      5000,
      'bad frames counted',
    )
    expect(got).toEqual(['ok'])
    const a = transport()
    a.send(bAddr, leave('after'))
    await until(() => got.includes('after'), 5000, 'still serving')
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
    await until(() => a.stats().connectFailures >= 1, 5000, 'connect failure')
    const b = transport({ port })
    await b.listen()
    const got: string[] = []
    b.onMessage((m) => got.push(m.f))
    await until(
      () => {
        a.send(addr, leave('back'))
        return got.includes('back')
      },
      5000,
      'reconnect',
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
    await until(() => got.includes('one'), 5000, 'first message')
    a.drop(bAddr)
    await until(() => b.stats().openConnections === 0, 5000, 'link closed on the far side')
    a.send(bAddr, leave('two'))
    await until(() => got.includes('two'), 5000, 'message on a fresh link')
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
      await until(() => a.stats().writeStalls === 1, 10_000, 'stalled link closed')
      expect(a.stats().openConnections).toBe(0)
    } finally {
      for (const s of stuck) s.destroy()
      await new Promise<void>((r) => sink.close(() => r()))
    }
  })

  it('splitAddr parses host:port and bracketed IPv6', () => {
    expect(splitAddr('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 })
    expect(splitAddr('[::1]:9000')).toEqual({ host: '::1', port: 9000 })
    expect(splitAddr('nope')).toBeNull()
    expect(splitAddr('h:0')).toBeNull()
  })
})
