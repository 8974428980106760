import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import { bearerMatches } from './auth.js'
import { Errors } from './errors.js'
import { type Clock, monotonicClock, Registry } from './registry.js'
import { checkHttpUrl, MAX_ADDR_LENGTH, MAX_URL_LENGTH, NODE_ID_PATTERN, parseHostPort } from './validate.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The discovery table behind the routes (tests read it directly). */
    registry: Registry
  }
}

/** Options of `buildApp`. */
export interface AppOptions {
  /** Entry lifetime without heartbeat, ms (> 0). */
  readonly ttlMs: number
  /** When set, POST and DELETE need `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Registry capacity (default 10 000). */
  readonly maxPeers?: number
  /** Largest accepted request body in bytes (default 16 KiB). */
  readonly bodyLimit?: number
  /** Time source (default monotonic epoch clock). */
  readonly clock?: Clock
  /** pino logger; default silent. */
  readonly logger?: FastifyBaseLogger
  /** How often expired entries are swept and logged, ms (default ttl/2, at least 50). 0 disables the timer. */
  readonly sweepIntervalMs?: number
}

/** Default body limit: a registration is < 2.5 KiB even at maximum field lengths. */
export const DEFAULT_BODY_LIMIT = 16 * 1024
/** Default registry capacity. */
export const DEFAULT_MAX_PEERS = 10_000

const id = { type: 'string', pattern: NODE_ID_PATTERN } as const
// Response schema: fast serialisation, and nothing but these fields can leak out.
const peerView = {
  type: 'object',
  required: ['id', 'addr', 'http', 'lastSeen', 'status'],
  properties: {
    id: { type: 'string' },
    addr: { type: 'string' },
    http: { type: 'string' },
    lastSeen: { type: 'string' },
    status: { type: 'string' },
  },
} as const

/**
 * Builds the discovery HTTP app (not listening). The registry is exposed as
 * `app.registry`. Closing the app stops its sweep timer. Throws RangeError on
 * bad options; never throws on bad requests (they get 4xx error bodies).
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const clock = opts.clock ?? monotonicClock
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT
  const registry = new Registry({ ttlMs: opts.ttlMs, maxEntries: opts.maxPeers ?? DEFAULT_MAX_PEERS, clock })
  const started = clock.now()
  const app: FastifyInstance = Fastify({
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    // No per-request logs: heartbeats arrive every second from every node.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // On close, drop every socket rather than wait (up to keepAliveTimeout) for
    // stragglers: each request is tiny and clients retry, so nothing is lost,
    // and SIGTERM finishes at once.
    forceCloseConnections: true,
    // Slow or stalled clients cannot pin sockets: a request must arrive within
    // 10 s, and a connection idle for 30 s is closed.
    requestTimeout: 10_000,
    connectionTimeout: 30_000,
    onProtoPoisoning: 'error',
    frameworkErrors: frameworkError,
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  })
  app.decorate('registry', registry)

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toCatalogError(err, bodyLimit)
    if (e.statusCode >= 500) req.log.error({ err }, 'request failed')
    return reply.status(e.statusCode).send({ error: { code: e.code, message: e.message } })
  })
  app.setNotFoundHandler((req, reply) => {
    const e = Errors.NotFound(req.method, req.url.split('?')[0]!.slice(0, 200))
    return reply.status(404).send({ error: { code: e.code, message: e.message } })
  })

  const token = opts.token
  if (token !== undefined) {
    app.addHook('onRequest', async (req) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return
      if (!bearerMatches(req.headers.authorization, token)) throw Errors.Unauthorized()
    })
  }

  app.post<{ Body: { id: string; addr: string; http: string } }>(
    '/register',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['peers', 'version'],
            properties: { peers: { type: 'array', items: peerView }, version: { type: 'string' } },
          },
        },
        body: {
          type: 'object',
          required: ['id', 'addr', 'http'],
          additionalProperties: false,
          properties: {
            id,
            addr: { type: 'string', minLength: 1, maxLength: MAX_ADDR_LENGTH },
            http: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH },
          },
        },
      },
    },
    async (req) => {
      const { id, addr, http } = req.body
      const hp = parseHostPort(addr)
      if (typeof hp === 'string') throw Errors.BadRequest(`body/addr ${hp}`)
      const bad = checkHttpUrl(http)
      if (bad !== undefined) throw Errors.BadRequest(`body/http ${bad}`)
      const outcome = registry.register({ id, addr, http })
      if (outcome === 'full') throw Errors.TableFull(registry.size)
      if (outcome === 'created') req.log.info({ id, addr, http }, 'node registered')
      else req.log.debug({ id, addr, http }, 'node re-registered')
      return { peers: registry.list(), version: registry.version }
    },
  )

  app.post<{ Body: { id: string } }>(
    '/heartbeat',
    {
      schema: {
        body: { type: 'object', required: ['id'], additionalProperties: false, properties: { id } },
      },
    },
    async (req) => {
      if (!registry.heartbeat(req.body.id)) throw Errors.UnknownNode(req.body.id)
      return { id: req.body.id, ttlMs: opts.ttlMs, version: registry.version }
    },
  )

  app.get('/peers', { schema: { response: { 200: { type: 'array', items: peerView } } } }, async () =>
    registry.list(),
  )

  app.delete<{ Params: { id: string } }>(
    '/peers/:id',
    {
      schema: {
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id } },
      },
    },
    async (req, reply) => {
      if (!registry.remove(req.params.id)) throw Errors.UnknownNode(req.params.id)
      req.log.info({ id: req.params.id }, 'node deregistered')
      return reply.status(204).send()
    },
  )

  app.get('/health', async () => ({
    status: 'ok',
    peers: registry.liveCount(),
    ttlMs: opts.ttlMs,
    uptime: Math.max(0, Math.round((clock.now() - started) / 1000)),
  }))

  const sweepEvery = opts.sweepIntervalMs ?? Math.max(50, Math.floor(opts.ttlMs / 2))
  if (sweepEvery > 0) {
    const timer = setInterval(() => {
      const gone = registry.sweep()
      if (gone.length > 0) app.log.info({ ids: gone.slice(0, 100), count: gone.length }, 'nodes expired')
    }, sweepEvery)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  }

  await app.ready()
  return app
}

/** Maps any error fastify hands the error handler onto the catalog. */
function toCatalogError(
  err: FastifyError,
  bodyLimit: number,
): { statusCode: number; code: string; message: string } {
  if (typeof err.code === 'string' && err.code.startsWith('TALLY_') && typeof err.statusCode === 'number') {
    return { statusCode: err.statusCode, code: err.code, message: err.message }
  }
  if (err.validation !== undefined) return Errors.BadRequest(err.message) as Required<FastifyError>
  const status = err.statusCode ?? 500
  if (status === 413) return Errors.BodyTooLarge(bodyLimit) as Required<FastifyError>
  if (status === 415) return Errors.UnsupportedMediaType() as Required<FastifyError>
  if (status >= 400 && status < 500)
    return Errors.BadRequest(String(err.message).slice(0, 300)) as Required<FastifyError>
  return Errors.Internal() as Required<FastifyError>
}

// Router-level refusals (a path parameter longer than maxParamLength, a malformed URL)
// bypass the error handler: they get the same error body as every other refusal.
function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(err.statusCode ?? 400).send({ error: { code: 'TALLY_BAD_REQUEST', message: err.message } })
}
