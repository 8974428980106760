// The raw front (raw-front.ts) over real sockets: it answers what its routes
// accept in the strict form it reads, and hands every other request, from its
// first byte, with the rest of the connection, to node:http, which answers it
// as if it had read it all: split anywhere, pipelined, refused, malformed,
// late, failed, or arriving while the front closes.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import {
  MAX_HEAD,
  MAX_IN_FLIGHT,
  parseHead,
  plainRawWriteLength,
  type RawFront,
  type RawHead,
  serveRaw,
  writeAnswer,
} from '../src/index.js'

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(
    servers
      .splice(0)
      .map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
  )
})

interface Fixture {
  readonly port: number
  readonly front: RawFront
  /** Requests node:http served, as `METHOD target body`. */
  readonly viaHttp: string[]
  /** Requests the front served, as `METHOD target body`. */
  readonly viaRaw: string[]
  /** Errors node:http's listener took from the front. */
  readonly handedErrors: unknown[]
  /** While set, the front's answers wait for it. */
  gate: Promise<void> | undefined
  /** The answer to a request with this body waits for its promise (before `gate`). */
  readonly holds: Map<string, Promise<void>>
  /** Answers the front wrote (their `written` called). */
  written: number
  /** Connections whose client ended its side, as the server saw it (after the front did). */
  ends: number
  /** Answers the front settled and node:http's listener wrote (after a failure before them). */
  answersOverHttp: number
}

/**
 * A node:http server echoing every request as `{"by":"http",…}`, with a
 * raw front answering `POST /hot` (Content-Length, at most 64 bytes of
 * body) as `{"by":"raw",…}`; a body `fail` rejects, `pass` is declined.
 */
async function start(
  timeouts: { keepAliveTimeout?: number; headersTimeout?: number } = {},
  raw = true,
): Promise<Fixture> {
  const server = createServer({ connectionsCheckingInterval: 50 })
  servers.push(server)
  // Long by default: a test never passes on a deadline the front falls back on.
  server.keepAliveTimeout = timeouts.keepAliveTimeout ?? 60_000
  server.headersTimeout = timeouts.headersTimeout ?? 60_000
  server.requestTimeout = timeouts.headersTimeout ?? 60_000
  const fx: Fixture = {
    port: 0,
    front: undefined as unknown as RawFront,
    viaHttp: [],
    viaRaw: [],
    handedErrors: [],
    gate: undefined,
    holds: new Map(),
    written: 0,
    ends: 0,
    answersOverHttp: 0,
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const served = fx.front.takeOutcome(req.socket)
    if (served !== undefined && 'answer' in served) {
      fx.answersOverHttp++
      writeAnswer(res, served.answer)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      if (served !== undefined) {
        fx.handedErrors.push(served.error)
        const text = JSON.stringify({ error: String(served.error) })
        res.writeHead(500, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': text.length,
        })
        res.end(text)
        return
      }
      fx.viaHttp.push(`${req.method} ${req.url} ${body}`)
      const text = JSON.stringify({ by: 'http', url: req.url, body })
      res.writeHead(200, {
        'x-by': 'http',
        'content-type': 'application/json; charset=utf-8',
        'content-length': text.length,
      })
      res.end(text)
    })
  })
  // Without the front (raw false): node:http alone, the reference the front must agree with.
  const NO_FRONT: RawFront = { close() {}, takeOutcome: () => undefined, connections: 0 }
  const front = !raw
    ? NO_FRONT
    : serveRaw<RawHead>(
        server,
        {
          accept: (head) =>
            head.method === 'POST' && head.target === '/hot' && head.contentLength >= 0 ? head : undefined,
          serve(head, body) {
            const text = body.toString()
            if (text === 'pass') return undefined
            fx.viaRaw.push(`${head.method} ${head.target} ${text}`)
            const gate = fx.holds.get(text) ?? fx.gate ?? Promise.resolve()
            return gate.then(() => {
              if (text === 'fail') throw new Error('refused')
              return {
                body: JSON.stringify({ by: 'raw', url: head.target, body: text }),
                headers: [['x-by', text === 'badheader' ? 'raw\r\nx-evil: 1' : 'raw']],
                written: () => fx.written++,
              }
            })
          },
        },
        { maxBody: 64 },
      )
  ;(fx as { front: RawFront }).front = front
  server.on('connection', (socket: Socket) => socket.on('end', () => fx.ends++))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ;(fx as { port: number }).port = (server.address() as { port: number }).port
  return fx
}

/** A parsed answer: status, headers (lower-cased names), body. */
interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** A client socket that collects answers as they complete. */
class Client {
  readonly socket: Socket
  readonly answers: Answer[] = []
  #buf = ''
  #waiters: (() => void)[] = []
  closed = false

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1')
    sockets.push(this.socket)
    this.socket.setEncoding('latin1')
    this.socket.on('data', (d: string) => {
      this.#buf += d
      this.#parse()
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
  }

  #parse(): void {
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = this.#buf.slice(0, end).split('\r\n')
      const status = Number((lines[0] as string).split(' ')[1])
      const headers: Record<string, string> = {}
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':')
        headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
      }
      const len = Number(headers['content-length'] ?? 0)
      if (this.#buf.length < end + 4 + len) return
      this.answers.push({ status, headers, body: this.#buf.slice(end + 4, end + 4 + len) })
      this.#buf = this.#buf.slice(end + 4 + len)
      this.#wake()
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  send(text: string): void {
    this.socket.write(text, 'latin1')
  }

  /** Resolves once `n` answers came in (or the connection closed: then with fewer). */
  async answered(n: number): Promise<Answer[]> {
    while (this.answers.length < n && !this.closed) await new Promise<void>((r) => this.#waiters.push(r))
    return this.answers
  }

  /** Resolves once the server closed the connection. */
  async closedByServer(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.#waiters.push(r))
  }
}

const hot = (body: string, extra = ''): string =>
  `POST /hot HTTP/1.1\r\nHost: a\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`
const other = (body: string): string =>
  `POST /other HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`

describe('parseHead', () => {
  const head = (text: string): RawHead | undefined => {
    const b = Buffer.from(text, 'latin1')
    const end = b.indexOf('\r\n\r\n')
    return parseHead(b, end)
  }

  it('reads the strict form: line, token names lower-cased, values trimmed, Content-Length', () => {
    const h = head(
      'POST /a/b?c HTTP/1.1\r\nHost: x\r\nContent-Type:application/json \r\nX-A:\t v \t\r\nContent-Length: 12\r\n\r\n',
    )
    expect(h).toEqual({
      method: 'POST',
      target: '/a/b?c',
      headers: new Map([
        ['host', 'x'],
        ['content-type', 'application/json'],
        ['x-a', 'v'],
        ['content-length', '12'],
      ]),
      contentLength: 12,
    })
    expect(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n')?.contentLength).toBe(-1)
    expect(head('GET / HTTP/1.1\r\nHost: x\r\nEmpty:\r\n\r\n')?.headers.get('empty')).toBe('')
  })

  it.each([
    ['no Host', 'GET / HTTP/1.1\r\nX: y\r\n\r\n'],
    ['no headers', 'GET / HTTP/1.1\r\n\r\n'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x\r\n\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['lower-case method', 'post / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['no target', 'GET HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['tab in the line', 'GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['non-ASCII target', 'GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n'],
    [
      'Transfer-Encoding with Content-Length',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
    ],
    ['Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: identity\r\n\r\n'],
    ['Content-Length twice', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n'],
    ['Content-Length a list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n'],
    ['Content-Length signed', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n'],
    ['Content-Length empty', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n'],
    ['Content-Length huge', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${'9'.repeat(16)}\r\n\r\n`],
    ['Host twice', 'GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n'],
    ['a header twice', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\n'],
    ['folded line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n'],
    ['bare LF in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\nContent-Length: 3\r\n\r\n'],
    ['bare LF line end', 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n'],
    ['bare CR', 'GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
    ['obs-text in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: \xe9\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n'],
    ['a separator in a name', 'GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n'],
    ['Connection: close', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['Connection: upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'],
    ['Expect', 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'],
    ['TE', 'GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n'],
  ])('leaves a head with %s to node:http', (_what, text) => {
    expect(head(text)).toBeUndefined()
  })

  it('agrees with node:http on the headers of every head it reads', async () => {
    // node:http parses the same bytes; the front's map must be node:http's headers (lower-cased, trimmed).
    const server = createServer((req, res) => {
      res.end(JSON.stringify(req.headers))
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const name = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/)
    const value = fc.stringMatching(/^[\t\x20-\x7e]{0,20}$/)
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n.toLowerCase(), maxLength: 8 }),
        async (pairs) => {
          const lines = pairs.filter(
            ([n]) =>
              ![
                'host',
                'content-length',
                'transfer-encoding',
                'connection',
                'upgrade',
                'expect',
                'te',
                'http2-settings',
                // node:http's headers object cannot hold this one (its rawHeaders do); no route reads it.
                '__proto__',
              ].includes(n.toLowerCase()),
          )
          const text = `GET / HTTP/1.1\r\nHost: h\r\n${lines.map(([n, v]) => `${n}:${v}\r\n`).join('')}\r\n`
          const ours = head(text)
          expect(ours).toBeDefined()
          const c = new Client(port)
          c.send(text)
          const [a] = await c.answered(1)
          c.socket.destroy()
          // Sorted entries, not objects: a header may be named 0 (which objects list first).
          const sorted = (e: [string, unknown][]) => e.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          expect(sorted([...(ours?.headers ?? [])])).toEqual(
            sorted(Object.entries(JSON.parse(a?.body ?? '{}'))),
          )
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('plainRawWriteLength', () => {
  const head = (headers: [string, string][], contentLength: number): RawHead => ({
    method: 'POST',
    target: '/increment',
    headers: new Map(headers),
    contentLength,
  })
  it('takes JSON exactly and a length within the limit', () => {
    expect(plainRawWriteLength(head([['content-type', 'application/json']], 12), 12)).toBe(12)
    expect(plainRawWriteLength(head([['content-type', 'application/json']], 0), 12)).toBe(0)
    expect(plainRawWriteLength(head([['content-type', 'application/json']], 13), 12)).toBeUndefined()
    expect(plainRawWriteLength(head([['content-type', 'application/json']], -1), 12)).toBeUndefined()
    expect(
      plainRawWriteLength(head([['content-type', 'application/json; charset=utf-8']], 12), 12),
    ).toBeUndefined()
    expect(plainRawWriteLength(head([], 12), 12)).toBeUndefined()
  })
})

describe('serveRaw', () => {
  it('answers accepted requests itself, in node:http’s answer shape, and keeps the connection', async () => {
    const fx = await start()
    const c = new Client(fx.port)
    c.send(hot('one'))
    await c.answered(1)
    c.send(hot('two', 'Idempotency-Key: k\r\nConnection: keep-alive\r\n'))
    const [a, b] = await c.answered(2)
    expect(fx.viaRaw).toEqual(['POST /hot one', 'POST /hot two'])
    expect(fx.viaHttp).toEqual([])
    expect(fx.written).toBe(2)
    expect(a?.status).toBe(200)
    expect(a?.body).toBe('{"by":"raw","url":"/hot","body":"one"}')
    expect(b?.body).toBe('{"by":"raw","url":"/hot","body":"two"}')
    expect(Object.keys(a?.headers ?? {})).toEqual([
      'x-by',
      'content-type',
      'content-length',
      'date',
      'connection',
      'keep-alive',
    ])
    expect(a?.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(a?.body.length),
      connection: 'keep-alive',
      'keep-alive': 'timeout=60',
    })
    expect(Number.isNaN(Date.parse(a?.headers.date ?? ''))).toBe(false)
    // node:http's own answer on a handed-over connection has the same header lines.
    c.send(other('x'))
    const [, , h] = await c.answered(3)
    expect(Object.keys(h?.headers ?? {})).toEqual(Object.keys(a?.headers ?? {}))
    expect(fx.front.connections).toBe(0)
  })

  it('answers in node:http’s lines when the server keeps idle connections without a timeout', async () => {
    const fx = await start({ keepAliveTimeout: 0 })
    const c = new Client(fx.port)
    c.send(hot('one'))
    const [a] = await c.answered(1)
    c.send(other('x'))
    const [, h] = await c.answered(2)
    expect(JSON.parse(a?.body ?? '').by).toBe('raw')
    expect(JSON.parse(h?.body ?? '').by).toBe('http')
    expect(Object.keys(a?.headers ?? {})).toEqual(Object.keys(h?.headers ?? {}))
    expect(a?.headers['keep-alive']).toBeUndefined()
  })

  it('answers a request split anywhere as one', async () => {
    const fx = await start()
    const text = hot('split', 'X-Long: abcdefghij\r\n')
    for (let cut = 1; cut < text.length; cut++) {
      const c = new Client(fx.port)
      c.send(text.slice(0, cut))
      // The second part after the first was read.
      await new Promise((r) => setTimeout(r, 2))
      c.send(text.slice(cut))
      const [a] = await c.answered(1)
      expect(a?.body, `cut at ${cut}`).toBe('{"by":"raw","url":"/hot","body":"split"}')
      c.socket.destroy()
    }
    expect(fx.viaRaw).toHaveLength(text.length - 1)
    expect(fx.viaHttp).toEqual([])
  })

  it('hands every other request to node:http from its first byte, with the rest of the connection', async () => {
    const fx = await start()
    const c = new Client(fx.port)
    c.send(hot('1'))
    await c.answered(1)
    c.send(other('2'))
    await c.answered(2)
    // Once handed over, even an accepted request is node:http's.
    c.send(hot('3'))
    const answers = await c.answered(3)
    expect(answers.map((a) => JSON.parse(a.body).by)).toEqual(['raw', 'http', 'http'])
    expect(fx.viaRaw).toEqual(['POST /hot 1'])
    expect(fx.viaHttp).toEqual(['POST /other 2', 'POST /hot 3'])
  })

  it('serves pipelined requests at once and answers them in order; node:http takes the first it does not', async () => {
    const fx = await start()
    const c = new Client(fx.port)
    c.send(hot('a') + hot('b') + other('c') + hot('d'))
    expect((await c.answered(4)).map((a) => a.body)).toEqual([
      '{"by":"raw","url":"/hot","body":"a"}',
      '{"by":"raw","url":"/hot","body":"b"}',
      '{"by":"http","url":"/other","body":"c"}',
      '{"by":"http","url":"/hot","body":"d"}',
    ])
    expect(fx.viaRaw).toEqual(['POST /hot a', 'POST /hot b'])
    expect(fx.viaHttp).toEqual(['POST /other c', 'POST /hot d'])

    // Served concurrently: all three are in flight before the first answer may be written.
    let open: () => void = () => {}
    fx.gate = new Promise<void>((r) => (open = r))
    const d = new Client(fx.port)
    d.send(hot('1'))
    while (!fx.viaRaw.includes('POST /hot 1')) await new Promise((r) => setTimeout(r, 1))
    d.send(hot('2') + hot('3'))
    while (!fx.viaRaw.includes('POST /hot 3')) await new Promise((r) => setTimeout(r, 1))
    expect(d.answers).toEqual([])
    open()
    expect((await d.answered(3)).map((a) => a.body)).toEqual(
      ['1', '2', '3'].map((b) => `{"by":"raw","url":"/hot","body":"${b}"}`),
    )
    expect(fx.front.connections).toBe(1)
  })

  it('answers pipelined requests in the order they came, whatever order they settle in', async () => {
    const fx = await start()
    let release: () => void = () => {}
    fx.holds.set('slow', new Promise<void>((r) => (release = r)))
    const c = new Client(fx.port)
    c.send(hot('slow') + hot('fast1') + hot('fast2'))
    while (fx.viaRaw.length < 3) await new Promise((r) => setTimeout(r, 1))
    // The two after it settled; nothing is written before the first.
    await new Promise((r) => setTimeout(r, 20))
    expect(c.answers).toEqual([])
    release()
    expect((await c.answered(3)).map((a) => JSON.parse(a.body).body)).toEqual(['slow', 'fast1', 'fast2'])
  })

  it('after a failure in a pipeline: node:http answers its error and writes the answers after it, serving none again', async () => {
    const fx = await start()
    let open: () => void = () => {}
    fx.gate = new Promise<void>((r) => (open = r))
    const c = new Client(fx.port)
    c.send(hot('ok1') + hot('fail') + hot('ok2') + other('x') + hot('y'))
    while (fx.viaRaw.length < 3) await new Promise((r) => setTimeout(r, 1))
    open()
    const answers = await c.answered(5)
    expect(answers.map((a) => [a.status, a.headers['x-by'], a.body])).toEqual([
      [200, 'raw', '{"by":"raw","url":"/hot","body":"ok1"}'],
      [500, undefined, '{"error":"Error: refused"}'],
      [200, 'raw', '{"by":"raw","url":"/hot","body":"ok2"}'],
      [200, 'http', '{"by":"http","url":"/other","body":"x"}'],
      [200, 'http', '{"by":"http","url":"/hot","body":"y"}'],
    ])
    // Each served once: the front served the first three, node:http the last two.
    expect(fx.viaRaw).toEqual(['POST /hot ok1', 'POST /hot fail', 'POST /hot ok2'])
    expect(fx.viaHttp).toEqual(['POST /other x', 'POST /hot y'])
    expect(fx.handedErrors).toHaveLength(1)
    expect(fx.answersOverHttp).toBe(1)
    expect(fx.written).toBe(2)
    // node:http's lines for the answer it wrote: the front's answer shape.
    expect(Object.keys(answers[2]?.headers ?? {})).toEqual(Object.keys(answers[0]?.headers ?? {}))
  })

  it('serves at most MAX_IN_FLIGHT requests of a connection at once', async () => {
    const fx = await start()
    let open: () => void = () => {}
    fx.gate = new Promise<void>((r) => (open = r))
    const c = new Client(fx.port)
    const n = MAX_IN_FLIGHT + 5
    c.send(Array.from({ length: n }, (_, i) => hot(String(i))).join(''))
    while (fx.viaRaw.length < MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 1))
    // The rest begin only once answers are written (a turn of the event loop is not enough).
    await new Promise((r) => setTimeout(r, 20))
    expect(fx.viaRaw).toHaveLength(MAX_IN_FLIGHT)
    open()
    const answers = await c.answered(n)
    expect(answers.map((a) => JSON.parse(a.body).body)).toEqual(
      Array.from({ length: n }, (_, i) => String(i)),
    )
    expect(fx.viaRaw).toHaveLength(n)
  })

  it('hands a request whose answer failed to node:http with its error, served once', async () => {
    const fx = await start()
    const c = new Client(fx.port)
    c.send(hot('fail'))
    const [a] = await c.answered(1)
    expect(a?.status).toBe(500)
    expect(a?.body).toBe('{"error":"Error: refused"}')
    expect(fx.viaRaw).toEqual(['POST /hot fail'])
    expect(fx.handedErrors).toHaveLength(1)
    // The error was taken once: the next request is served as usual (by node:http now).
    c.send(hot('after'))
    const [, b] = await c.answered(2)
    expect(JSON.parse(b?.body ?? '').by).toBe('http')
    // An answer header the front refuses (as node:http refuses it): nothing written, handed over with the error.
    const d = new Client(fx.port)
    d.send(hot('badheader'))
    const [e] = await d.answered(1)
    expect(e?.status).toBe(500)
    expect(e?.body).toBe('{"error":"TypeError: invalid answer header \\"x-by\\""}')
    expect(e?.headers['x-evil']).toBeUndefined()
    expect(fx.written).toBe(0)
  })

  it('hands a declined body, a long body and a long head to node:http', async () => {
    const fx = await start()
    const cases = [hot('pass'), hot('x'.repeat(65)), hot('y', `X-Big: ${'z'.repeat(MAX_HEAD)}\r\n`)]
    for (const text of cases) {
      const c = new Client(fx.port)
      c.send(text)
      const [a] = await c.answered(1)
      expect(JSON.parse(a?.body ?? '').by).toBe('http')
    }
    expect(fx.viaRaw).toEqual([])
    expect(fx.viaHttp).toHaveLength(3)
  })

  it('hands a malformed request to node:http, which refuses it as it would have', async () => {
    const fx = await start()
    const c = new Client(fx.port)
    c.send(
      'POST /hot HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    )
    const [a] = await c.answered(1)
    expect(a?.status).toBe(400)
    expect(fx.viaRaw).toEqual([])
    const d = new Client(fx.port)
    d.send('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
    await d.closedByServer()
    expect(d.answers.map((x) => x.status)).toEqual([400])
  })

  it('closes an idle connection after the keep-alive timeout', async () => {
    const fx = await start({ keepAliveTimeout: 150 })
    const c = new Client(fx.port)
    c.send(hot('k'))
    const [a] = await c.answered(1)
    expect(a?.headers['keep-alive']).toBe('timeout=0')
    const t0 = performance.now()
    await c.closedByServer()
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100)
    expect(fx.front.connections).toBe(0)
  })

  it('hands a request that stalls half-way to node:http, whose request timeout answers it', async () => {
    const fx = await start({ keepAliveTimeout: 100, headersTimeout: 300 })
    const c = new Client(fx.port)
    c.send('POST /hot HTTP/1.1\r\nHost: a\r\nContent-Le')
    await c.closedByServer()
    expect(c.answers.map((x) => x.status)).toEqual([408])
    expect(fx.viaRaw).toEqual([])
  })

  it('hands a request that keeps dribbling past the headers timeout to node:http', async () => {
    const fx = await start({ keepAliveTimeout: 5000, headersTimeout: 150 })
    const c = new Client(fx.port)
    const text = hot('slow')
    let i = 0
    const drip = setInterval(() => {
      if (i < text.length) c.send(text[i++] as string)
    }, 10)
    try {
      const [a] = await c.answered(1)
      // node:http took it over (its own deadline then applies) and answered or refused it; the front did not.
      expect(a?.headers['x-by'] ?? 'refused').not.toBe('raw')
      expect(fx.viaRaw).toEqual([])
    } finally {
      clearInterval(drip)
    }
  })

  it('answers a request followed by the end of the stream, then ends the connection', async () => {
    const fx = await start()
    let open: () => void = () => {}
    for (const gated of [false, true]) {
      fx.gate = gated ? new Promise<void>((r) => (open = r)) : undefined
      const ends = fx.ends
      const c = new Client(fx.port)
      c.socket.end(hot('bye'))
      if (gated) {
        // The end came while the answer was pending: the answer says the connection closes, and it does.
        while (fx.ends === ends) await new Promise((r) => setTimeout(r, 1))
        expect(c.closed).toBe(false)
        open()
      }
      await c.closedByServer()
      expect(c.answers.map((a) => a.body)).toEqual(['{"by":"raw","url":"/hot","body":"bye"}'])
      if (gated) expect(c.answers[0]?.headers.connection).toBe('close')
    }
    // A failed answer after the end of the stream cannot go to node:http: the connection closes
    // unanswered (node:http drops a request it has not answered when the client ends its side).
    fx.gate = new Promise<void>((r) => (open = r))
    const ends = fx.ends
    const f = new Client(fx.port)
    f.socket.end(hot('fail'))
    while (fx.ends === ends) await new Promise((r) => setTimeout(r, 1))
    open()
    await f.closedByServer()
    expect(f.answers).toEqual([])
    expect(fx.handedErrors).toEqual([])
    expect(fx.viaHttp).toEqual([])
    // Pipelined requests, then the end: all answered in order, the last saying the connection closes.
    fx.gate = new Promise<void>((r) => (open = r))
    const p = new Client(fx.port)
    p.send(hot('p1'))
    while (!fx.viaRaw.includes('POST /hot p1')) await new Promise((r) => setTimeout(r, 1))
    p.socket.end(hot('p2') + hot('p3'))
    await new Promise((r) => setTimeout(r, 20))
    open()
    await p.closedByServer()
    expect(p.answers.map((a) => [JSON.parse(a.body).body, a.headers.connection])).toEqual([
      ['p1', 'keep-alive'],
      ['p2', 'keep-alive'],
      ['p3', 'close'],
    ])
    expect(fx.viaHttp.filter((r) => r.startsWith('POST /hot p'))).toEqual([])
    expect(fx.front.connections).toBe(0)
  })

  it('on close: idle connections close at once, a busy one after its answer, and new requests go to node:http', async () => {
    const fx = await start()
    const idle = new Client(fx.port)
    idle.send(hot('i'))
    await idle.answered(1)
    let open: () => void = () => {}
    fx.gate = new Promise<void>((r) => {
      open = r
    })
    const busy = new Client(fx.port)
    busy.send(hot('b'))
    while (fx.viaRaw.length < 2) await new Promise((r) => setTimeout(r, 1))
    const fresh = new Client(fx.port)
    await new Promise<void>((r) => fresh.socket.once('connect', () => r()))
    await new Promise((r) => setTimeout(r, 20))
    fx.front.close()
    await idle.closedByServer()
    await fresh.closedByServer()
    expect(busy.closed).toBe(false)
    open()
    const [b] = await busy.answered(1)
    expect(b?.headers.connection).toBe('close')
    await busy.closedByServer()
    const late = new Client(fx.port)
    late.send(hot('late'))
    const [f] = await late.answered(1)
    expect(JSON.parse(f?.body ?? '').by).toBe('http')
    expect(fx.front.connections).toBe(0)
  })

  it('on close with more pipelined than it serves at once: answers those in flight, node:http the rest', async () => {
    const fx = await start()
    let open: () => void = () => {}
    fx.gate = new Promise<void>((r) => (open = r))
    const c = new Client(fx.port)
    const n = MAX_IN_FLIGHT + 1
    c.send(Array.from({ length: n }, (_, i) => hot(String(i))).join(''))
    while (fx.viaRaw.length < MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 1))
    fx.front.close()
    open()
    const answers = await c.answered(n)
    expect(answers.map((a) => JSON.parse(a.body).by)).toEqual([
      ...Array.from({ length: MAX_IN_FLIGHT }, () => 'raw'),
      'http',
    ])
    expect(fx.viaHttp).toEqual([`POST /hot ${MAX_IN_FLIGHT}`])
  })

  it('answers the servable run a stream begins with, split anywhere, and hands over at the next request', async () => {
    // node:http alone is the reference for what the front does not serve: after the run of requests
    // the front serves (a raw answer each, in order, the run sent in pieces), the answers are those
    // node:http alone gives the rest of the bytes (sent in one piece, as the front hands them over).
    // (node:http alone, given the whole stream, may answer less: it drops the answers it has not
    // written when a later request in the same read is malformed; the front has written them.)
    const front = await start()
    const alone = await start({}, false)
    const servable = fc.constantFrom('a', 'bb', '', '{"amount":1}').map((b) => ({ text: hot(b), raw: b }))
    const other_ = fc.constantFrom(
      other('x'),
      other(''),
      hot('pass'),
      'GET /other HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n',
      // Forms the front leaves to node:http, some of which node:http refuses (and closes).
      'POST /hot HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /hot HTTP/1.1\r\nHost: a\r\nContent-Length : 1\r\n\r\nz',
      'POST /hot HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz',
      'POST /hot HTTP/1.1\r\nHost: a\r\nX-Folded: 1\r\n 2\r\nContent-Length: 1\r\n\r\nz',
      'POST /hot HTTP/1.0\r\nHost: a\r\nContent-Length: 1\r\n\r\nz',
      'POST /hot HTTP/1.1\r\nContent-Length: 1\r\n\r\nz',
    )
    const END = 'GET /end HTTP/1.1\r\nHost: a\r\n\r\n'
    // `head` sent in pieces (cut at `cuts`), then `tail` in one piece.
    const answersOf = async (port: number, head: string, cuts: number[], tail: string) => {
      const c = new Client(port)
      let at = 0
      for (const cut of cuts.filter((x) => x > 0 && x < head.length).sort((x, y) => x - y)) {
        c.send(head.slice(at, cut))
        at = cut
        await new Promise((r) => setImmediate(r))
      }
      if (at < head.length) c.send(head.slice(at))
      await new Promise((r) => setImmediate(r))
      c.send(tail)
      // Until the last request's answer, or the server closed the connection.
      while (!c.closed && !c.answers.some((a) => a.body.includes('"url":"/end"')))
        await new Promise((r) => setTimeout(r, 1))
      c.socket.destroy()
      return c.answers.map((a) => {
        const j =
          a.status === 200 ? (JSON.parse(a.body) as { by: string; url: string; body: string }) : undefined
        return { status: a.status, by: j?.by, url: j?.url, body: j?.body }
      })
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(servable, { maxLength: 4 }),
        other_,
        fc.array(
          fc.oneof(
            servable.map((x) => x.text),
            other_,
          ),
          { maxLength: 3 },
        ),
        fc.array(fc.nat(400), { maxLength: 5 }),
        async (run, next, rest, cuts) => {
          const tail = next + rest.join('') + END
          const got = await answersOf(front.port, run.map((r) => r.text).join(''), cuts, tail)
          expect(got.slice(0, run.length)).toEqual(
            run.map((r) => ({ status: 200, by: 'raw', url: '/hot', body: r.raw })),
          )
          // The rest is node:http's: nothing of it the front's, and it begins as node:http alone
          // begins those bytes. One known difference: bytes handed over reach node:http's parser in
          // one call, so when they hold a request it refuses (400, then it closes), answers it had
          // not yet written to requests before that one are not written (reading the socket itself,
          // it writes them first). Then the rest begins with a refusal that node:http alone also
          // gives somewhere in those bytes.
          const reference = await answersOf(alone.port, '', [], tail)
          const after = got.slice(run.length)
          expect(after.every((a) => a.by !== 'raw')).toBe(true)
          expect(after.length > 0).toBe(reference.length > 0)
          const [first] = after
          if (first !== undefined && !isDeepStrictEqual(first, reference[0])) {
            expect(first.status).toBe(400)
            expect(reference.some((r) => r.status === 400)).toBe(true)
          }
        },
      ),
      { numRuns: 80 },
    )
  })

  it('survives clients that reset the connection while answers and closes are written', async () => {
    const fx = await start()
    for (const ended of [true, false]) {
      let open: () => void = () => {}
      fx.gate = new Promise<void>((r) => (open = r))
      const served = fx.viaRaw.length
      const ends = fx.ends
      const c = new Client(fx.port)
      c.send(hot('r'))
      if (ended) c.socket.end()
      while (fx.viaRaw.length === served) await new Promise((r) => setTimeout(r, 1))
      if (ended) while (fx.ends === ends) await new Promise((r) => setTimeout(r, 1))
      // Reset: the server's writes after this fail (EPIPE or ECONNRESET).
      c.socket.resetAndDestroy()
      await c.closedByServer()
      await new Promise((r) => setTimeout(r, 20))
      open()
      while (fx.front.connections > 0) await new Promise((r) => setTimeout(r, 1))
    }
    // Still serving (an 'error' with no listener would have ended the test run).
    fx.gate = undefined
    const d = new Client(fx.port)
    d.send(hot('after'))
    const [a] = await d.answered(1)
    expect(JSON.parse(a?.body ?? '').by).toBe('raw')
  })

  it('refuses a server without exactly one connection listener', () => {
    const server = createServer()
    server.on('connection', () => {})
    expect(() =>
      serveRaw(server, { accept: () => undefined, serve: () => undefined }, { maxBody: 1 }),
    ).toThrow(TypeError)
  })
})
