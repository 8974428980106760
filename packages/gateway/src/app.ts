// buildApp: the gateway as a fastify app (no socket, no env, no signals:
// those are server.ts). Tests call `app.inject(...)`.

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import { errorHandler } from './error-handler.js'
import { Errors } from './errors.js'
import { Gateway, type GatewayOptions } from './gateway.js'
import { clusterRoutes } from './routes/cluster.js'
import { counterRoutes } from './routes/counters.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { itemRoutes } from './routes/items.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway service: registry, loops, routing operations. */
    gateway: Gateway
  }
}

/** Options of {@link buildApp}: the gateway's plus fastify's logger and body limit. */
export interface AppOptions extends GatewayOptions {
  /** A pino logger for the app; default: no logging. */
  readonly logger?: FastifyBaseLogger
  /** Largest request body, bytes (default 4 KiB: counter bodies are tiny). */
  readonly bodyLimit?: number
}

/**
 * Builds the gateway app. Discovery polling and health checks start when the
 * app is ready (`app.ready()` / `listen`) and stop on `app.close()`, which also
 * closes every node connection. Never listens by itself.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimit ?? 4096,
    // No per-request log lines: the gateway's hot path logs nothing at info.
    logController: new LogController({ disableRequestLogging: true }),
    // Names are up to 128 characters; longer ones must reach the handler to get TALLY_NAME_INVALID.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkError,
    // While closing, requests get our own 503 TALLY_SHUTTING_DOWN (hook below), not fastify's body.
    return503OnClosing: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  }) as unknown as FastifyInstance

  // An absent or empty JSON body is "no body" (all body fields are optional).
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new Errors.BadRequest('body is not valid JSON'), undefined)
    }
  })
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.method === 'POST') req.body = {}
  })

  const gateway = new Gateway(opts)
  app.decorate('gateway', gateway)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: { code: 'TALLY_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` },
    })
  })
  let closing = false
  app.addHook('onRequest', async (_req, reply) => {
    if (closing) {
      reply.header('connection', 'close')
      throw new Errors.ShuttingDown('the gateway is shutting down; retry on another gateway')
    }
  })
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onReady', async () => {
    await gateway.start(app.log)
  })
  app.addHook('onClose', async () => {
    await gateway.stop()
  })

  await app.register(counterRoutes)
  await app.register(itemRoutes)
  await app.register(clusterRoutes)
  await app.register(dashboardRoutes)
  return app
}

// Router-level refusals (a path parameter longer than maxParamLength, a malformed URL)
// bypass the error handler: they get the same error body as every other refusal.
function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(err.statusCode ?? 400).send({ error: { code: 'TALLY_BAD_REQUEST', message: err.message } })
}
