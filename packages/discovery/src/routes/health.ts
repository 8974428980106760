// The discovery server's own health.

import type { FastifyInstance } from 'fastify'
import type { Clock } from '../registry.js'

/** Options of {@link healthRoutes}. */
export interface HealthRoutesOptions {
  readonly ttlMs: number
  readonly clock: Clock
  /** When the app was built, `clock` ms. */
  readonly started: number
}

/** Registers `GET /health`: status, live entries, ttl and uptime in seconds. */
export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  app.get('/health', async () => ({
    status: 'ok',
    peers: app.registry.liveCount(),
    ttlMs: opts.ttlMs,
    uptime: Math.max(0, Math.round((opts.clock.now() - opts.started) / 1000)),
  }))
}
