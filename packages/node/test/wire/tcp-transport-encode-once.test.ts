// One sequence sent to several peers in one turn (eager push, forwarding) is
// encoded once; real sockets on 127.0.0.1 (port 0). frame-codec is wrapped to
// count encodings, so this lives in its own file.
import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { TcpTransport } from '../../src/wire/tcp-transport.js'
import { silent } from '../support/sim.js'

const encoded = vi.hoisted(() => ({ frames: 0 }))
vi.mock('../../src/wire/frame-codec.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/wire/frame-codec.js')>()
  return {
    ...m,
    encodeFrame: (...args: Parameters<typeof m.encodeFrame>) => {
      encoded.frames++
      return m.encodeFrame(...args)
    },
  }
})

const open: TcpTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
})

function transport(): TcpTransport {
  const t = new TcpTransport({ host: '127.0.0.1', port: 0, maxFrameBytes: 1 << 20, logger: silent })
  open.push(t)
  return t
}

describe('TcpTransport encodes a sequence once for all its peers', () => {
  it('the same array to three peers in one turn: encoded once, delivered whole to each', async () => {
    const a = transport()
    const peers = [transport(), transport(), transport()]
    await a.listen()
    const addrs = await Promise.all(peers.map((p) => p.listen()))
    const got = peers.map(() => [] as string[])
    peers.forEach((p, i) => {
      p.onMessage((m) => got[i]?.push(m.f))
    })
    const seq: Message[] = [
      { t: MsgType.PUSH, f: 'n0', delta: { vv: {}, counters: { c: { 'r.1': [3, 0] } } } },
      { t: MsgType.LEAVE, f: 'n1' },
    ]
    encoded.frames = 0
    for (const addr of addrs) a.sendAll(addr, seq)
    expect(encoded.frames).toBe(seq.length)
    await until(() => got.every((g) => g.length === 2), { what: 'every peer got both', timeoutMs: 10_000 })
    expect(got).toEqual([
      ['n0', 'n1'],
      ['n0', 'n1'],
      ['n0', 'n1'],
    ])
    // A later turn encodes again (nothing is held past the turn it was sent in).
    a.sendAll(addrs[0] as string, seq)
    expect(encoded.frames).toBe(2 * seq.length)
    await until(() => got[0]?.length === 4, { what: 'the resend', timeoutMs: 10_000 })
  })

  it('send() of one message to two peers encodes it per peer (only sendAll arrays are shared)', async () => {
    const a = transport()
    const peers = [transport(), transport()]
    await a.listen()
    const addrs = await Promise.all(peers.map((p) => p.listen()))
    encoded.frames = 0
    const msg: Message = { t: MsgType.LEAVE, f: 'x' }
    for (const addr of addrs) a.send(addr, msg)
    expect(encoded.frames).toBe(2)
  })
})
