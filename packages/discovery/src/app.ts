// buildApp: the discovery registry as a fastify app (no socket, no env, no
// signals: those are server.ts). Routes live in routes/; tests call
// `app.inject(...)`.

import { countRequests, createFastify, metricsRoute } from '@tally/kit'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { bearerMatches } from './auth.js'
import { ERROR_STATUS, Errors } from './errors.js'
import { discoveryMetrics } from './metrics.js'
import { type Clock, monotonicClock, Registry } from './registry.js'
import { healthRoutes } from './routes/health.js'
import { peerRoutes } from './routes/peers.js'

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

/**
 * Builds the discovery HTTP app (not listening). The registry is exposed as
 * `app.registry`. Closing the app stops its sweep timer. Throws RangeError on
 * bad options; never throws on bad requests (they get 4xx error bodies).
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const clock = opts.clock ?? monotonicClock
  const registry = new Registry({ ttlMs: opts.ttlMs, maxEntries: opts.maxPeers ?? DEFAULT_MAX_PEERS, clock })
  const started = clock.now()
  const app = createFastify({
    logger: opts.logger,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    errors: { status: ERROR_STATUS },
    fastify: {
      // On close, drop every socket rather than wait (up to keepAliveTimeout) for
      // stragglers: each request is tiny and clients retry, so nothing is lost,
      // and SIGTERM finishes at once.
      forceCloseConnections: true,
      // Timeouts: kit's DEFAULT_SERVER_TIMEOUTS (a request must arrive within
      // 10 s, a silent connection is closed after 30 s), as on every server.
    },
  })
  app.decorate('registry', registry)

  const token = opts.token
  if (token !== undefined) {
    // Before the body is read: a client without the token learns nothing else.
    app.addHook('onRequest', async (req) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return
      if (!bearerMatches(req.headers.authorization, token)) throw Errors.unauthorized()
    })
  }

  const metrics = discoveryMetrics(registry)
  countRequests(app, metrics.registry, 'tally_discovery_requests_total')
  metricsRoute(app, metrics.registry)
  await app.register(peerRoutes, { ttlMs: opts.ttlMs, metrics })
  await app.register(healthRoutes, { ttlMs: opts.ttlMs, clock, started })

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
