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

  it('splitAddr parses host:port and bracketed IPv6', () => {
    expect(splitAddr('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 })
    expect(splitAddr('[::1]:9000')).toEqual({ host: '::1', port: 9000 })
    expect(splitAddr('nope')).toBeNull()
    expect(splitAddr('h:0')).toBeNull()
  })
})
