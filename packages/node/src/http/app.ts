// The HTTP API of a node as a fastify app. No listen(), no env: server.ts
// does that; tests call app.inject().

import { monitorEventLoopDelay } from 'node:perf_hooks'
import { isValidName, MAX_NAME_LENGTH } from '@tally/crdt'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { Logger } from 'pino'
import { NODE_DEFAULTS } from '../defaults.js'
import * as E from '../errors.js'
import { IDEMPOTENCY_KEY } from '../idempotency/idempotency.js'
import type { Consistency, TallyNode } from '../node.js'
import { MAX_ATTEMPT } from '../wire/messages.js'

/** Options of {@link buildApp}. */
export interface AppOptions {
  node: TallyNode
  /** pino logger for fastify; default: silent. */
  logger?: Logger
  /** Largest accepted request body, bytes (default 4 KiB: bodies are tiny). */
  bodyLimit?: number
}

const NAME = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  pattern: '^[A-Za-z0-9._:-]+$',
} as const
const nameParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: NAME },
} as const
const mutateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { consistency: { type: 'string', enum: ['one', 'quorum', 'all'] } },
} as const
const mutateBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { amount: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const
const stateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { name: NAME },
} as const

interface MutateRoute {
  Params: { name?: string }
  Querystring: { consistency?: Consistency }
  Body: { amount?: number } | null | undefined
}

/**
 * Builds the node's fastify app (routes, schemas, error handler). Does not
 * listen. The caller closes it; closing the app does not stop the node.
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const { node } = opts
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 4096,
    // Slow and half-open clients: deadlines checked every second (Node's default is every 30 s).
    connectionTimeout: NODE_DEFAULTS.httpConnectionTimeoutMs,
    requestTimeout: NODE_DEFAULTS.httpRequestTimeoutMs,
    keepAliveTimeout: NODE_DEFAULTS.httpKeepAliveTimeoutMs,
    http: { connectionsCheckingInterval: 1_000, headersTimeout: NODE_DEFAULTS.httpRequestTimeoutMs },
    // Names are up to 128 characters; longer ones must reach the handler to get TALLY_NAME_INVALID.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkError,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  })

  // JSON only: anything else is 415 rather than a string body. An empty JSON
  // body means "no body" (amount 1), as many clients send the header anyway.
  // JSON.parse makes `__proto__` an own property, which the strict schemas refuse.
  app.removeContentTypeParser(['text/plain', 'application/json'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new E.BadRequest('body is not valid JSON'), undefined)
    }
  })

  let inflight = 0
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  let loopDelayMs = 0
  const sampler = setInterval(() => {
    // The histogram's samples include the 10 ms sampling period itself: report the excess.
    const excess = Number.isNaN(loop.mean) ? 0 : loop.mean / 1e6 - 10
    loopDelayMs = Math.max(0, Math.round(excess * 100) / 100)
    loop.reset()
  }, 1000)
  sampler.unref()
  app.addHook('onRequest', async () => {
    inflight++
  })
  app.addHook('onResponse', async () => {
    inflight--
  })
  app.addHook('onClose', async () => {
    clearInterval(sampler)
    loop.disable()
  })

  app.setErrorHandler((err: FastifyError, req, reply) => sendError(err, reply, req.log))
  app.setNotFoundHandler((req, reply) =>
    sendError(new E.NotFound(req.method, req.url.split('?')[0]), reply, req.log),
  )

  const mutate =
    (op: 'increment' | 'decrement') =>
    async (req: {
      params: MutateRoute['Params']
      query: MutateRoute['Querystring']
      body: MutateRoute['Body']
      headers: Record<string, string | string[] | undefined>
    }) => {
      const name = req.params.name ?? 'default'
      if (!isValidName(name))
        throw new E.NameInvalid(`invalid counter name ${JSON.stringify(String(name).slice(0, 40))}`)
      const raw = req.headers['idempotency-key']
      let key: string | undefined
      if (raw !== undefined) {
        if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) throw new E.IdempotencyKeyInvalid()
        key = raw
      }
      const attempt = readAttempt(req.headers['tally-attempt'])
      return node.mutate({
        name,
        op,
        amount: req.body?.amount ?? 1,
        key,
        attempt,
        consistency: req.query.consistency ?? 'one',
      })
    }
  const mutateSchema = { querystring: mutateQuery, body: mutateBody }
  app.post<MutateRoute>('/increment', { schema: mutateSchema }, mutate('increment'))
  app.post<MutateRoute>('/decrement', { schema: mutateSchema }, mutate('decrement'))
  app.post<MutateRoute>(
    '/counters/:name/increment',
    { schema: { ...mutateSchema, params: nameParams } },
    mutate('increment'),
  )
  app.post<MutateRoute>(
    '/counters/:name/decrement',
    { schema: { ...mutateSchema, params: nameParams } },
    mutate('decrement'),
  )

  app.get('/counter', async () => ({ name: 'default', value: node.value('default') }))
  app.get('/counters', async () => ({
    counters: node.map.names().map((name) => ({ name, value: node.value(name) })),
  }))
  app.get<{ Params: { name: string } }>(
    '/counters/:name',
    { schema: { params: nameParams } },
    async (req) => {
      const { name } = req.params
      return { name, value: node.value(name) }
    },
  )
  app.get<{ Querystring: { name?: string } }>(
    '/state',
    { schema: { querystring: stateQuery } },
    async (req) => {
      const { name } = req.query
      if (name !== undefined && !isValidName(name))
        throw new E.NameInvalid(`invalid counter name ${JSON.stringify(name)}`)
      node.assertServing()
      return name === undefined ? node.map.state() : node.map.state([name])
    },
  )
  // 503 once storage failed, so gateways and operators take the node out of service.
  app.get('/health', async (_req, reply) => {
    let status = node.stopping ? 'stopping' : 'ok'
    if (node.storeFailure !== null) {
      status = 'store-failed'
      reply.code(503)
    }
    return {
      id: node.identity.nodeId,
      replica: node.identity.replicaId,
      status,
      peers: node.membership.counts(),
      uptime: Math.round((Date.now() - node.startedAt) / 1000),
      load: { inflight: inflight - 1, eventLoopDelayMs: loopDelayMs },
    }
  })
  app.get('/peers', async () => ({ peers: node.membership.list() }))
  app.get('/metrics', async () => ({
    id: node.identity.nodeId,
    counters: node.map.size,
    digest: node.map.digest(),
    clusterSize: node.clusterSize(),
    peers: node.membership.counts(),
    idempotencyKeys: node.idempotency.size,
    keyRecords: node.keys.size,
    keys: node.keyStats,
    snapshots: node.snapshots,
    replication: node.replicator.stats,
    transport: node.transportStats(),
    load: { inflight: inflight - 1, eventLoopDelayMs: loopDelayMs },
  }))
  return app
}

/**
 * The `Tally-Attempt` header (which try of a keyed write this is: the
 * gateway sends 1 to the first node, 2 to the next…): an integer 1–100,
 * default 1. Throws AttemptInvalid.
 */
function readAttempt(raw: string | string[] | undefined): number {
  if (raw === undefined) return 1
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,2}$/.test(raw)) throw new E.AttemptInvalid()
  const n = Number(raw)
  if (n > MAX_ATTEMPT) throw new E.AttemptInvalid()
  return n
}

const PATH_CODES: Record<string, (m: string) => Error> = {
  '/amount': (m) => new E.AmountInvalid(`amount ${m}`),
  '/name': (m) => new E.NameInvalid(`name ${m}`),
}

function sendError(
  err: FastifyError,
  reply: FastifyReply,
  log: { error: (o: object, m: string) => void },
): FastifyReply {
  let e: FastifyError & { confirmed?: number; required?: number } = err
  if (err.validation) {
    const v = err.validation[0]
    const path = v?.instancePath ?? ''
    const toCode = PATH_CODES[path]
    const msg = v?.message ?? 'is invalid'
    if (toCode) e = toCode(msg) as FastifyError
    else e = new E.BadRequest(`${err.validationContext ?? 'request'}${path} ${msg}`)
  } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    e = new E.BodyTooLarge()
  } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    e = new E.UnsupportedMedia('send application/json')
  } else if (err.code?.startsWith('FST_') && (err.statusCode ?? 500) < 500) {
    e = new E.BadRequest(err.message)
  } else if (!err.code?.startsWith('TALLY_') || (err.statusCode ?? 500) >= 500) {
    if (!err.code?.startsWith('TALLY_')) {
      log.error({ err }, 'unexpected error')
      e = new E.Internal()
    }
  }
  const body: { error: { code: string; message: string; confirmed?: number; required?: number } } = {
    error: { code: e.code, message: e.message },
  }
  if (e.confirmed !== undefined) body.error.confirmed = e.confirmed
  if (e.required !== undefined) body.error.required = e.required
  return reply.code(e.statusCode ?? 500).send(body)
}

// Router-level refusals (a path parameter longer than maxParamLength, a malformed URL)
// bypass the error handler: they get the same error body as every other refusal.
function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(err.statusCode ?? 400).send({ error: { code: 'TALLY_BAD_REQUEST', message: err.message } })
}
