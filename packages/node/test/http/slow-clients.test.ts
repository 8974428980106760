// Deadlines of the node's HTTP server for slow and half-open clients: a
// socket that says nothing, a request that trickles in, an idle keep-alive.
import type net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import type { TallyNode } from '../../src/node.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let node: TallyNode
let app: ReturnType<typeof buildApp>

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'slow', [])).node
  app = buildApp({ node })
  await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await app.close()
  await node.stop()
})

describe('HTTP deadlines', () => {
  it('closes silent sockets after 10 s, requests not received in full after 10 s (checked every second), idle keep-alives after 10 s', () => {
    const s = app.server
    expect(s.timeout).toBe(10_000)
    expect(s.requestTimeout).toBe(10_000)
    expect(s.headersTimeout).toBe(10_000)
    expect(s.keepAliveTimeout).toBe(10_000)
  })

  it('still answers a normal request', async () => {
    const { port } = app.server.address() as net.AddressInfo
    const res = await fetch(`http://127.0.0.1:${port}/health`)
    expect(res.status).toBe(200)
  })
})
