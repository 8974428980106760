// readBody (read-body.ts) on a real HTTP server: a body that came with the
// head is taken in one read without flowing the stream; one still on its
// way is collected as it comes; either way the whole body, once.

import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { Cleanup, listenOnFreePort, until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { readBody } from '../src/read-body.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

interface Seen {
  readonly body: string
  /** The request's stream had been switched to flowing mode when the body was handed over. */
  readonly flowed: boolean
}

async function server(): Promise<{ port: number; seen: Seen[]; requests: IncomingMessage[] }> {
  const seen: Seen[] = []
  const requests: IncomingMessage[] = []
  const s: Server = createServer((req, res) => {
    requests.push(req)
    readBody(req, Number(req.headers['content-length']), (body) => {
      seen.push({ body: body.toString(), flowed: req.readableFlowing === true })
      res.end('ok')
    })
  })
  const port = await listenOnFreePort(s)
  cleanup.add(() => new Promise<void>((resolve) => s.close(() => resolve())))
  cleanup.add(() => s.closeAllConnections())
  return { port, seen, requests }
}

function client(port: number): Socket {
  const c = connect({ host: '127.0.0.1', port, noDelay: true })
  c.on('error', () => {})
  cleanup.add(() => c.destroy())
  return c
}

const head = (length: number) =>
  `POST /x HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`

describe('readBody', () => {
  it('takes a body that came with its head in one read, without flowing the stream', async () => {
    const { port, seen } = await server()
    const body = '{"amount":12}'
    client(port).write(head(body.length) + body)
    await until(() => seen.length === 1, { what: 'the body read', timeoutMs: 5000 })
    expect(seen).toEqual([{ body, flowed: false }])
  })

  it('collects a body that comes after its head, whole', async () => {
    const { port, seen, requests } = await server()
    const c = client(port)
    c.write(head(13))
    // The head alone has been parsed (the request emitted) before any of the body is sent.
    await until(() => requests.length === 1, { what: 'the head parsed', timeoutMs: 5000 })
    c.write('{"amount"')
    c.write(':12}')
    await until(() => seen.length === 1, { what: 'the body read', timeoutMs: 5000 })
    expect(seen[0]?.body).toBe('{"amount":12}')
  })

  it('hands over an empty body as an empty buffer', async () => {
    const { port, seen } = await server()
    client(port).write(head(0))
    await until(() => seen.length === 1, { what: 'the body read', timeoutMs: 5000 })
    expect(seen).toEqual([{ body: '', flowed: false }])
  })
})
