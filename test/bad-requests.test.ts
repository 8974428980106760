// Hostile requests sent as raw bytes over TCP to the three servers, listening
// on 127.0.0.1:0: parser-level faults (bad chunking, oversize heads, control
// characters, no Host) as well as body and header faults. Every one gets the
// house error body `{ "error": { "code", "message" } }` as JSON, changes no
// counter or registry entry, and logs nothing at `error`.

import { connect } from 'node:net'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp as buildDiscovery } from '../packages/discovery/src/app.ts'
import { buildApp as buildGateway } from '../packages/gateway/src/app.ts'
import { DEFAULT_SERVER_TIMEOUTS } from '../packages/kit/src/index.ts'
import { NODE_DEFAULTS } from '../packages/node/src/defaults.ts'
import { buildApp as buildNode } from '../packages/node/src/http/app.ts'
import type { TallyNode } from '../packages/node/src/node.ts'
import { MemoryNetwork } from '../packages/node/src/wire/memory-transport.ts'
import { startSim } from '../packages/node/test/support/sim.ts'

/** A parsed HTTP answer read off a raw socket. */
interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends `bytes` on a fresh TCP connection to 127.0.0.1:`port` and resolves
 * with the first answer: once its Content-Length bytes have arrived, or when
 * the server closes the connection. Rejects when the server closes without
 * any answer.
 */
function rawRequest(port: number, bytes: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port })
    let buf = Buffer.alloc(0)
    let settled = false
    const finish = (answer: RawAnswer | Error): void => {
      if (settled) return
      settled = true
      sock.destroy()
      if (answer instanceof Error) reject(answer)
      else resolve(answer)
    }
    const tryParse = (final: boolean): void => {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) {
        if (final) finish(new Error(`connection closed without an answer: ${JSON.stringify(buf.toString())}`))
        return
      }
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of lines) {
        const i = l.indexOf(':')
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      const body = buf.subarray(end + 4)
      const len = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
      if (len !== undefined && body.length < len && !final) return
      if (len === undefined && !final) return
      finish({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: body.subarray(0, len ?? body.length).toString('utf8'),
      })
    }
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      tryParse(false)
    })
    sock.on('close', () => tryParse(true))
    // A reset after the answer was written still leaves the answer readable.
    sock.on('error', () => tryParse(true))
    sock.write(bytes)
  })
}

/** A request head (CRLF line ends) followed by `body`. */
function request(lines: readonly string[], body = ''): string {
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

/** A complete JSON POST to `path` with `body` and extra header lines. */
function post(path: string, body: string, extra: readonly string[] = []): string {
  return request(
    [
      `POST ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...extra,
    ],
    body,
  )
}

/** A component under test: where it listens, a write path and body, and how to read its state. */
interface Target {
  readonly name: 'node' | 'gateway' | 'discovery'
  port: number
  /** A write route that changes state when accepted. */
  readonly path: string
  /** A valid body for `path`. */
  readonly body: string
  /** The same body with a key repeated. */
  readonly duplicateKeyBody: string
  /** Everything the component's writes can change, as a comparable snapshot. */
  readonly state: () => Promise<unknown>
  /** Log lines at `error` or above. */
  readonly errors: string[]
  readonly app: FastifyInstance
}

function recordingLogger(errors: string[]): FastifyBaseLogger {
  return pino(
    { level: 'debug' },
    {
      write(line: string) {
        const o = JSON.parse(line) as { level: number; msg?: string }
        if (o.level >= 50) errors.push(line)
      },
    },
  )
}

const apps: FastifyInstance[] = []
let node: TallyNode
const targets: Target[] = []

async function listen(app: FastifyInstance): Promise<number> {
  apps.push(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  if (typeof addr !== 'object' || addr === null) throw new Error('no TCP address')
  return addr.port
}

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'bad-requests', [])).node
  const nodeErrors: string[] = []
  const nodeApp = buildNode({ node, logger: recordingLogger(nodeErrors) as never })
  const nodePort = await listen(nodeApp)
  const counters = async () => node.map.names().map((n) => [n, node.value(n)])
  targets.push({
    name: 'node',
    port: nodePort,
    path: '/counters/c/increment',
    body: '{"amount":1}',
    duplicateKeyBody: '{"amount":"x","amount":2}',
    state: counters,
    errors: nodeErrors,
    app: nodeApp,
  })

  const gatewayErrors: string[] = []
  const gateway = await buildGateway({
    nodes: [`http://127.0.0.1:${nodePort}`],
    discovery: [],
    strategy: 'round-robin',
    requestTimeoutMs: 2000,
    healthIntervalMs: 100,
    discoveryIntervalMs: 100,
    maxAttempts: 2,
    deadlineMs: 4000,
    logger: recordingLogger(gatewayErrors),
  })
  targets.push({
    name: 'gateway',
    port: await listen(gateway),
    path: '/items',
    body: '{"tenant":"t1","count":1}',
    duplicateKeyBody: '{"tenant":"t1","count":"x","count":2}',
    state: counters,
    errors: gatewayErrors,
    app: gateway,
  })

  const discoveryErrors: string[] = []
  const discovery = await buildDiscovery({ ttlMs: 60_000, logger: recordingLogger(discoveryErrors) })
  targets.push({
    name: 'discovery',
    port: await listen(discovery),
    path: '/register',
    body: '{"id":"n1","addr":"127.0.0.1:1","http":"http://127.0.0.1:2"}',
    duplicateKeyBody: '{"id":"n1","addr":"127.0.0.1:1","http":"http://127.0.0.1:2","id":"n2"}',
    state: async () => discovery.registry.list().map((p) => [p.id, p.addr, p.http]),
    errors: discoveryErrors,
    app: discovery,
  })
})

afterAll(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
  await node?.stop()
})

type Component = Target['name']
const ALL: readonly Component[] = ['node', 'gateway', 'discovery']

interface Case {
  readonly what: string
  readonly on: readonly Component[]
  readonly bytes: (t: Target) => string | Buffer
  readonly status: number
  readonly code: string
  /** A fragment the message must contain. */
  readonly message?: RegExp
  /** The server answers with `connection: close` (parser-level refusals, no Host). */
  readonly closes?: true
}

const big = 'a'.repeat(20 * 1024)

const CASES: readonly Case[] = [
  {
    what: 'duplicate keys in the JSON body',
    on: ALL,
    bytes: (t) => post(t.path, t.duplicateKeyBody),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
    message: /duplicate key "(amount|count|id)" in the JSON body/,
  },
  {
    what: 'two Idempotency-Key headers',
    on: ['node', 'gateway'],
    bytes: (t) => post(t.path, t.body, ['Idempotency-Key: k-a', 'Idempotency-Key: k-b']),
    status: 400,
    code: 'TALLY_IDEMPOTENCY_KEY_INVALID',
    message: /sent twice/,
  },
  {
    what: 'two Tally-Attempt headers',
    on: ['node'],
    bytes: (t) => post(t.path, t.body, ['Tally-Attempt: 1', 'Tally-Attempt: 2']),
    status: 400,
    code: 'TALLY_ATTEMPT_INVALID',
    message: /sent twice/,
  },
  {
    what: 'tenant __proto__ in POST /items',
    on: ['gateway'],
    bytes: () => post('/items', '{"tenant":"__proto__","count":1}'),
    status: 400,
    code: 'TALLY_TENANT_INVALID',
  },
  {
    what: 'tenant constructor in POST /items',
    on: ['gateway'],
    bytes: () => post('/items', '{"tenant":"constructor","count":1}'),
    status: 400,
    code: 'TALLY_TENANT_INVALID',
  },
  {
    what: 'tenant __proto__ in GET /items/:tenant/count',
    on: ['gateway'],
    bytes: () => request(['GET /items/__proto__/count HTTP/1.1', 'Host: 127.0.0.1']),
    status: 400,
    code: 'TALLY_TENANT_INVALID',
  },
  {
    what: 'an HTTP/1.1 request without Host',
    closes: true,
    on: ALL,
    bytes: (t) =>
      request(
        [`POST ${t.path} HTTP/1.1`, 'Content-Type: application/json', `Content-Length: ${t.body.length}`],
        t.body,
      ),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
    message: /Host/,
  },
  {
    what: 'a bad chunked body',
    closes: true,
    on: ALL,
    bytes: (t) =>
      request(
        [
          `POST ${t.path} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Transfer-Encoding: chunked',
        ],
        'zz\r\n{"amount":1}\r\n0\r\n\r\n',
      ),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
  },
  {
    what: 'Content-Length together with Transfer-Encoding',
    closes: true,
    on: ALL,
    bytes: (t) =>
      request(
        [
          `POST ${t.path} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          `Content-Length: ${t.body.length + 7}`,
          'Transfer-Encoding: chunked',
        ],
        `${t.body.length.toString(16)}\r\n${t.body}\r\n0\r\n\r\n`,
      ),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
  },
  {
    what: 'a 20 KB URL',
    closes: true,
    on: ALL,
    bytes: (t) => post(`${t.path}?x=${big}`, t.body),
    status: 431,
    code: 'TALLY_HEADERS_TOO_LARGE',
  },
  {
    what: 'a 20 KB header',
    closes: true,
    on: ALL,
    bytes: (t) => post(t.path, t.body, [`X-Big: ${big}`]),
    status: 431,
    code: 'TALLY_HEADERS_TOO_LARGE',
  },
  {
    what: 'a control character in a header value',
    closes: true,
    on: ALL,
    bytes: (t) => post(t.path, t.body, ['X-Bad: a\x01b']),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
  },
  {
    what: 'invalid JSON',
    on: ALL,
    bytes: (t) => post(t.path, '{"amount":'),
    status: 400,
    code: 'TALLY_BAD_REQUEST',
    message: /not valid JSON/,
  },
  {
    what: 'a content type other than JSON',
    on: ALL,
    bytes: (t) =>
      request(
        [
          `POST ${t.path} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Content-Type: text/plain',
          `Content-Length: ${t.body.length}`,
        ],
        t.body,
      ),
    status: 415,
    code: 'TALLY_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a body over the body limit',
    on: ALL,
    bytes: (t) => post(t.path, `{"pad":"${'x'.repeat(40 * 1024)}"}`),
    status: 413,
    code: 'TALLY_BODY_TOO_LARGE',
  },
]

const ROWS = CASES.flatMap((c) => c.on.map((name) => ({ ...c, name })))

describe('hostile requests over a raw socket', () => {
  it.each(ROWS)('$name: $what → $status $code', async (c) => {
    const t = targets.find((x) => x.name === c.name) as Target
    const before = await t.state()
    const res = await rawRequest(t.port, c.bytes(t))
    expect(res.status, res.body).toBe(c.status)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(res.body) as { error: { code: unknown; message: unknown } }
    expect(body.error.code).toBe(c.code)
    expect(typeof body.error.message).toBe('string')
    if (c.message) expect(body.error.message).toMatch(c.message)
    if (c.closes) expect(res.headers.connection).toBe('close')
    expect(await t.state()).toEqual(before)
    expect(t.errors).toEqual([])
  })

  it.each(ALL)('%s: a good request on the same write route still succeeds', async (name) => {
    const t = targets.find((x) => x.name === name) as Target
    const before = JSON.stringify(await t.state())
    const res = await rawRequest(t.port, post(t.path, t.body))
    expect(res.status, res.body).toBe(200)
    expect(JSON.stringify(await t.state())).not.toBe(before)
  })

  // The node, the exposed data plane, tightens kit's defaults (NODE_DEFAULTS);
  // gateway and discovery keep them. Every server checks deadlines each second.
  it.each(ALL)('%s: listens with the socket timeouts of @tally/kit (node: its own tighter ones)', (name) => {
    const server = (targets.find((x) => x.name === name) as Target).app.server
    const want =
      name === 'node'
        ? {
            requestTimeout: NODE_DEFAULTS.httpRequestTimeoutMs,
            connectionTimeout: NODE_DEFAULTS.httpConnectionTimeoutMs,
            keepAliveTimeout: NODE_DEFAULTS.httpKeepAliveTimeoutMs,
          }
        : DEFAULT_SERVER_TIMEOUTS
    expect({
      requestTimeout: server.requestTimeout,
      connectionTimeout: server.timeout,
      keepAliveTimeout: server.keepAliveTimeout,
    }).toEqual(want)
    expect(server.headersTimeout).toBe(want.requestTimeout)
  })

  it('logged nothing at error on any server, once every connection is done', async () => {
    // close() waits for the requests still in flight (a refused body's read).
    await Promise.all(apps.splice(0).map((a) => a.close()))
    expect(targets.flatMap((t) => t.errors)).toEqual([])
  })
})
