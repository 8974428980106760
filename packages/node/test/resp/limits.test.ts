// Connection lifecycle limits: idle and half-sent requests time out, a
// client that does not read its replies stops being read, many connections.
import { RawResp } from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RespFixture, startRespNode } from './support.js'

let f: RespFixture
let g: RespFixture
beforeAll(async () => {
  f = await startRespNode({ idleTimeoutMs: 300, partialTimeoutMs: 200 }, 'limits')
  g = await startRespNode({}, 'load')
})
afterAll(async () => {
  await f.stop()
  await g.stop()
})

describe('timeouts', () => {
  it('an idle connection is closed', async () => {
    const c = await RawResp.open(f.port)
    expect(await c.call('PING')).toBe('PONG')
    await c.waitClosed(5000)
  })

  it('a request left half-sent is closed before the idle timeout would', async () => {
    const c = await RawResp.open(f.port)
    const t0 = Date.now()
    c.send('*2\r\n$4\r\nINCR\r\n$3\r\nab')
    await c.waitClosed(5000)
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(f.node.map.has('abc')).toBe(false)
  })
})

describe('load', () => {
  it('a client that never reads its replies stops being read (backpressure), and loses nothing once it reads', async () => {
    const c = await RawResp.open(g.port)
    c.socket.pause()
    const n = 60_000
    const chunk = '*2\r\n$4\r\nECHO\r\n$64\r\n' + 'x'.repeat(64) + '\r\n'
    let sent = 0
    // Write until our own socket buffers back up: the server has stopped reading.
    while (sent < n && c.socket.write(chunk.repeat(100))) sent += 100
    expect(sent).toBeLessThan(n)
    const processed = g.resp.stats.commandsProcessed
    c.socket.resume()
    let got = 0
    while (got < sent + 100) {
      expect(await c.read()).toBe('x'.repeat(64))
      got++
    }
    expect(g.resp.stats.commandsProcessed).toBeGreaterThan(processed)
    c.close()
  })

  it('serves a thousand connections at once', async () => {
    const conns = await Promise.all(Array.from({ length: 1000 }, () => RawResp.open(g.port)))
    const replies = await Promise.all(conns.map((c) => c.call('INCR', 'many')))
    expect(new Set(replies).size).toBe(1000)
    expect(g.node.value('many')).toBe(1000)
    for (const c of conns) c.close()
  })
})
