// The gateway's Prometheus series (GET /metrics): requests by route pattern,
// upstream attempt latency, retries, ejections, and nodes by operator state.
// Hot-path calls add to plain numbers (attempt-series.ts, and the count of
// coalesced reads) that prom-client reads when scraped; node states are read
// when scraped too.

import { createMetricsRegistry, type MetricsRegistry } from '@tally/kit'
import { Counter, Gauge } from 'prom-client'
import { AttemptTally, registerAttemptSeries } from './attempt-series.js'
import { NODE_STATES, type NodeHistory } from './node-history.js'
import type { RegistryEvents } from './registry.js'

/** Upstream latency buckets, seconds (a node answers in ms; timeouts are seconds). */
const UPSTREAM_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The gateway's registry and the events object its node registry reports to. */
export interface GatewayMetrics {
  readonly registry: MetricsRegistry
  readonly events: RegistryEvents
  /** Counts one read answered by an upstream request issued for other reads too (read coalescing). */
  readonly coalesced: () => void
}

/**
 * Builds the registry of one gateway app; `history` is read (and refreshed
 * by `refresh`) when scraped. See the gateway README's metrics table.
 */
export function gatewayMetrics(history: NodeHistory, refresh: () => void): GatewayMetrics {
  const registry = createMetricsRegistry()
  const r = [registry]
  const attempts = new AttemptTally(UPSTREAM_BUCKETS)
  registerAttemptSeries(registry, attempts)
  const retries = new Counter({
    name: 'tally_gateway_retries_total',
    help: 'Requests moved on to another node after a failed attempt',
    registers: r,
  })
  const ejections = new Counter({
    name: 'tally_gateway_ejections_total',
    help: 'Usable nodes ejected from traffic (failed health check or request)',
    registers: r,
  })
  let coalesced = 0
  new Counter({
    name: 'tally_gateway_reads_coalesced_total',
    help: 'Reads answered by an upstream request shared with other identical reads (no request of their own)',
    registers: r,
    collect() {
      this.reset()
      this.inc(coalesced)
    },
  })
  new Gauge({
    name: 'tally_gateway_nodes',
    help: 'Nodes the gateway knows or remembers, by state (healthy, suspect, ejected, down)',
    labelNames: ['state'],
    registers: r,
    collect() {
      refresh()
      const c = history.counts()
      for (const s of NODE_STATES) this.set({ state: s }, c[s])
    },
  })
  return {
    registry,
    events: {
      attempt: (seconds, outcome) => attempts.record(outcome, seconds),
      retry: () => retries.inc(),
      ejected: () => ejections.inc(),
    },
    coalesced: () => {
      coalesced++
    },
  }
}
