// buildApp: the gateway as a fastify app (no socket, no env, no signals:
// those are server.ts). Tests call `app.inject(...)`.

import { countRequests, createFastify, httpError, isHandedOver } from '@tally/kit'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { ERROR_MAPPING } from './error-handler.js'
import { Gateway, type GatewayOptions } from './gateway.js'
import { serveHotRoutes } from './hot-routes.js'
import { boundedRoutes } from './routes/bounded.js'
import { clusterRoutes } from './routes/cluster.js'
import { counterRoutes } from './routes/counters.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { itemRoutes } from './routes/items.js'
import { lifecycleRoutes } from './routes/lifecycle.js'
import { limitRoutes } from './routes/limits.js'

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
  const bodyLimit = opts.bodyLimit ?? 4096
  const app = createFastify({
    logger: opts.logger,
    bodyLimit,
    // Names are up to 128 characters; longer ones must reach the handler to get TALLY_NAME_INVALID.
    maxParamLength: 1024,
    // Kit's handler plus the relay of a node's own error answers.
    errors: ERROR_MAPPING,
    // While closing, requests get our own 503 TALLY_SHUTTING_DOWN (hook below), not fastify's body.
    fastify: { return503OnClosing: false },
  })
  // All body fields are optional: an absent or empty body is `{}`.
  // Callback hooks, not async ones: no promise per request on the hot path.
  app.addHook('preValidation', (req, _reply, done) => {
    if (req.body === undefined && req.method === 'POST') req.body = {}
    done()
  })

  const gateway = new Gateway(opts)
  app.decorate('gateway', gateway)
  const counts = countRequests(app, gateway.metrics, 'tally_gateway_requests_total')
  let closing = false
  // The busiest counter routes are served ahead of fastify (same answers; `app.inject` skips them).
  const front = serveHotRoutes(app.server, { gateway, counts, bodyLimit, closing: () => closing })
  app.addHook('onRequest', (req, reply, done) => {
    if (!closing) return done()
    if (isHandedOver(req.raw)) {
      // The hot routes took it (and it failed) before the close began: it runs its course as if
      // fastify had had it from the start, without the `Connection: close` fastify puts on
      // requests it meets while closing (requests pipelined behind it still get our 503).
      reply.raw.removeHeader('connection')
      return done()
    }
    reply.header('connection', 'close')
    done(httpError('TALLY_SHUTTING_DOWN', 'the gateway is shutting down; retry on another gateway'))
  })
  app.addHook('preClose', async () => {
    closing = true
    // The raw front's idle connections close now, busy ones after their answer.
    front.close()
  })
  app.addHook('onReady', async () => {
    await gateway.start(app.log)
  })
  app.addHook('onClose', async () => {
    await gateway.stop()
  })

  await app.register(counterRoutes)
  await app.register(lifecycleRoutes)
  await app.register(itemRoutes)
  await app.register(limitRoutes)
  await app.register(boundedRoutes)
  await app.register(clusterRoutes)
  await app.register(dashboardRoutes)
  return app
}
