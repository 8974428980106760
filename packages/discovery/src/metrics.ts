// The discovery server's Prometheus series (GET /metrics): registrations by
// outcome, heartbeats by result, expiries, nodes held, HTTP requests by route.
// Label children are bound once; the table size is read when scraped.

import { createMetricsRegistry, type MetricsRegistry, readCounter } from '@tally/kit'
import { Counter, Gauge } from 'prom-client'
import type { RegisterOutcome, Registry } from './registry.js'

/** What the routes record. Every method is O(1) and never throws. */
export interface DiscoveryMetrics {
  readonly registry: MetricsRegistry
  registered(outcome: RegisterOutcome): void
  heartbeat(known: boolean): void
}

/** Builds the registry of one discovery app reading `table` (see the README's metrics table). */
export function discoveryMetrics(table: Registry): DiscoveryMetrics {
  const registry = createMetricsRegistry()
  const registrations = new Counter({
    name: 'tally_discovery_registrations_total',
    help: 'POST /register answered, by outcome: created (new or expired entry), updated (re-registration), full (refused)',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const byOutcome: Record<RegisterOutcome, { inc(): void }> = {
    created: registrations.labels('created'),
    updated: registrations.labels('updated'),
    full: registrations.labels('full'),
  }
  const heartbeats = new Counter({
    name: 'tally_discovery_heartbeats_total',
    help: 'POST /heartbeat answered, by result: ok, or unknown (not registered or expired: the node must register again)',
    labelNames: ['result'],
    registers: [registry],
  })
  const hbOk = heartbeats.labels('ok')
  const hbUnknown = heartbeats.labels('unknown')
  readCounter(
    registry,
    {
      name: 'tally_discovery_expiries_total',
      help: 'Entries dropped because no heartbeat came within the TTL',
    },
    () => table.expiredTotal,
  )
  new Gauge({
    name: 'tally_discovery_nodes',
    help: 'Live (unexpired) registered nodes',
    registers: [registry],
    collect() {
      this.set(table.liveCount())
    },
  })
  return {
    registry,
    registered: (outcome) => byOutcome[outcome].inc(),
    heartbeat: (known) => (known ? hbOk : hbUnknown).inc(),
  }
}
