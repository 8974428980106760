// The HTTP API of a node as a fastify app: the shared fastify base of
// @tally/kit (JSON-only bodies, house error bodies, one error handler) with
// the node's error table, the load tracker and the route plugins (routes/).
// No listen(), no env: server.ts does that; tests call app.inject().

import { createFastify } from '@tally/kit'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { NODE_DEFAULTS } from '../defaults.js'
import type { TallyNode } from '../node.js'
import { ERROR_STATUS, mapNodeError } from './error-status.js'
import { serveHotWrites } from './hot-writes.js'
import { trackLoad } from './load.js'
import { nodeMetrics } from './metrics.js'
import { boundedRoutes } from './routes/bounded.js'
import { clusterRoutes } from './routes/cluster.js'
import { counterRoutes } from './routes/counters.js'
import { lifecycleRoutes } from './routes/lifecycle.js'
import { limitRoutes } from './routes/limits.js'

/** Options of {@link buildApp}. */
export interface AppOptions {
  node: TallyNode
  /** pino logger for fastify; default: silent. */
  logger?: Logger
  /** Largest accepted request body, bytes (default 4 KiB: bodies are tiny). */
  bodyLimit?: number
}

/**
 * Builds the node's fastify app (routes, schemas, error handler), with the
 * plain writes served ahead of it on its server (hot-writes.ts). Does not
 * listen. The caller closes it; closing the app does not stop the node.
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? 4096
  const app = createFastify({
    logger: opts.logger as FastifyBaseLogger | undefined,
    bodyLimit,
    // Slow and half-open clients get the node's tighter deadlines (kit checks them every second).
    fastify: {
      connectionTimeout: NODE_DEFAULTS.httpConnectionTimeoutMs,
      requestTimeout: NODE_DEFAULTS.httpRequestTimeoutMs,
      keepAliveTimeout: NODE_DEFAULTS.httpKeepAliveTimeoutMs,
    },
    // Names are up to 128 characters; longer ones must reach the handler to get TALLY_NAME_INVALID.
    maxParamLength: 1024,
    errors: { status: ERROR_STATUS, map: mapNodeError },
  })
  const load = trackLoad(app)
  const metrics = nodeMetrics(opts.node, () => load.read())
  // Plain writes in their simplest form are served ahead of fastify (same answers; `app.inject` skips them).
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    // The raw front's idle connections close now, busy ones after their answer.
    front.close()
    done()
  })
  const front = serveHotWrites(app.server, {
    node: opts.node,
    load,
    writes: metrics.writes,
    bodyLimit,
    closing: () => closing,
  })
  app.register(counterRoutes, { node: opts.node, load, writes: metrics.writes })
  app.register(boundedRoutes, { node: opts.node, load })
  app.register(lifecycleRoutes, { node: opts.node, load })
  app.register(clusterRoutes, { node: opts.node, load, metrics: metrics.registry })
  app.register(limitRoutes, { node: opts.node, load })
  return app
}
