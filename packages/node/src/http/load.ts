// How busy the node's HTTP side is, as /health and /metrics report it (the
// gateway reads it to balance): requests in flight and event-loop delay.

import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'

/** Load figures of a node. */
export interface Load {
  /** Requests being handled, the one asking excluded. */
  inflight: number
  /** Mean event-loop delay over the last second, beyond the 10 ms sampling period, ms (2 decimals). */
  eventLoopDelayMs: number
}

/**
 * Counts `app`'s requests in flight (hooks) and samples event-loop delay
 * once a second (an unref'd timer; both stop when the app closes). Returns
 * a reader of the current load, meant to be called while handling a request.
 * Never throws.
 */
export function trackLoad(app: FastifyInstance): () => Load {
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
  return () => ({ inflight: inflight - 1, eventLoopDelayMs: loopDelayMs })
}
