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
 * The load of one app: the routes that wait (writes: durability, quorum
 * acks) count themselves in flight with {@link LoadTracker.begin}/{@link
 * LoadTracker.end}; reads answer from memory within one turn of the event
 * loop, so they are never in flight when the load is read. No per-request
 * hook: two hooks per request cost more than the count is worth.
 */
export class LoadTracker {
  #inflight = 0
  #loopDelayMs = 0

  /** A waiting request starts. */
  begin(): void {
    this.#inflight++
  }

  /** A request counted by {@link begin} has finished (answered or failed). */
  end(): void {
    this.#inflight--
  }

  /** The current load (the asking request is not counted: it does not wait). Never throws. */
  read(): Load {
    return { inflight: this.#inflight, eventLoopDelayMs: this.#loopDelayMs }
  }

  /** Sets the last event-loop delay sample, ms. */
  set loopDelayMs(ms: number) {
    this.#loopDelayMs = ms
  }
}

/**
 * Samples `app`'s event-loop delay once a second (an unref'd timer, stopped
 * when the app closes) into a new {@link LoadTracker}, which the routes that
 * wait use to count themselves in flight. Never throws.
 */
export function trackLoad(app: FastifyInstance): LoadTracker {
  const tracker = new LoadTracker()
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const sampler = setInterval(() => {
    // The histogram's samples include the 10 ms sampling period itself: report the excess.
    const excess = Number.isNaN(loop.mean) ? 0 : loop.mean / 1e6 - 10
    tracker.loopDelayMs = Math.max(0, Math.round(excess * 100) / 100)
    loop.reset()
  }, 1000)
  sampler.unref()
  app.addHook('onClose', async () => {
    clearInterval(sampler)
    loop.disable()
  })
  return tracker
}
