// The node's Prometheus series (GET /metrics). Writes are counted and timed
// on the request path in plain numbers (write-series.ts); everything the node
// already counts (transport, store, replication, membership) is read when
// scraped, so gossip and the WAL carry no extra work. Names follow the
// Prometheus conventions: `tally_` prefix, base units, `_total` counters,
// bounded label sets (never a label per counter name or per peer).

import { createMetricsRegistry, type MetricsRegistry, readCounter, readLabelledCounter } from '@tally/kit'
import { Counter, Gauge } from 'prom-client'
import type { TallyNode } from '../node.js'
import { MESSAGE_TYPE_NAMES } from '../wire/counting-transport.js'
import type { Load } from './load.js'
import { registerWriteSeries, type WriteOp, WriteTally } from './write-series.js'

export { WRITE_RESULTS, type WriteResult, writeResultOf } from './write-series.js'

/** Latency buckets of a write, seconds: fsync-bound (sub-ms to tens of ms), quorum waits up to seconds. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** What the write routes call: a few additions to plain numbers (write-series.ts). */
export interface WriteMetrics {
  /** Records one write of `op` answered with `status` after `seconds`. Never throws. */
  record(op: WriteOp, status: number, seconds: number): void
}

/** The node's metrics: its registry (for the route) and the write recorder (for the write routes). */
export interface NodeMetrics {
  readonly registry: MetricsRegistry
  readonly writes: WriteMetrics
}

/**
 * Builds the registry of one node app: default process metrics plus every
 * `tally_` series (see the node README's metrics table). `load` reads the
 * HTTP load tracker. Never throws.
 */
export function nodeMetrics(node: TallyNode, load: () => Load): NodeMetrics {
  const registry = createMetricsRegistry()
  const r = [registry]

  const writes = new WriteTally(WRITE_BUCKETS)
  registerWriteSeries(registry, writes)

  new Gauge({
    name: 'tally_peers',
    help: 'Peers in this node’s membership view, by failure-detector state',
    labelNames: ['state'],
    registers: r,
    collect() {
      const c = node.membership.counts()
      this.set({ state: 'live' }, c.live)
      this.set({ state: 'suspect' }, c.suspect)
      this.set({ state: 'dead' }, c.dead)
    },
  })

  const store = () => node.storeStats
  readCounter(
    registry,
    {
      name: 'tally_wal_batches_total',
      help: 'WAL batches written (one LevelDB write, or one segment append with async durability, each)',
    },
    () => store()?.batches ?? 0,
  )
  readCounter(
    registry,
    { name: 'tally_wal_fsyncs_total', help: 'WAL batches written with fsync' },
    () => store()?.syncs ?? 0,
  )
  readCounter(
    registry,
    { name: 'tally_wal_operations_total', help: 'Operations logged to the WAL (local and remote)' },
    () => store()?.ops ?? 0,
  )
  readCounter(
    registry,
    { name: 'tally_wal_bytes_total', help: 'Bytes of encoded WAL batches written' },
    () => store()?.bytes ?? 0,
  )
  readCounter(
    registry,
    { name: 'tally_snapshots_total', help: 'Snapshots written since start' },
    () => node.snapshots,
  )
  readCounter(
    registry,
    {
      name: 'tally_counters_collected_total',
      help: 'Deleted or expired counters garbage-collected (entries, mark and TTL dropped) since start',
    },
    () => node.gc.stats.collected,
  )

  new Counter({
    name: 'tally_gossip_messages_total',
    help: 'Gossip messages handed to (out) or received from (in) the transport, by type',
    labelNames: ['direction', 'type'],
    registers: r,
    collect() {
      this.reset()
      const c = node.messageCounts
      for (const [t, name] of Object.entries(MESSAGE_TYPE_NAMES)) {
        this.labels('in', name).inc(c.in[Number(t)] ?? 0)
        this.labels('out', name).inc(c.out[Number(t)] ?? 0)
      }
    },
  })
  const transport = () => node.transportStats()
  readLabelledCounter(
    registry,
    { name: 'tally_gossip_frames_total', help: 'Gossip frames written (out) or read (in) by the transport' },
    'direction',
    () => {
      const t = transport()
      return { in: t.framesIn, out: t.framesOut }
    },
  )
  readLabelledCounter(
    registry,
    { name: 'tally_gossip_bytes_total', help: 'Gossip bytes written (out) or read (in) by the transport' },
    'direction',
    () => {
      const t = transport()
      return { in: t.bytesIn, out: t.bytesOut }
    },
  )
  readLabelledCounter(
    registry,
    { name: 'tally_gossip_bad_frames_total', help: 'Inbound gossip frames refused, by reason' },
    'reason',
    () => transport().badFrames,
  )
  readCounter(
    registry,
    { name: 'tally_gossip_dropped_total', help: 'Gossip messages not sent (peer backing off or queue full)' },
    () => transport().dropped,
  )
  readCounter(
    registry,
    { name: 'tally_gossip_connect_failures_total', help: 'Failed gossip connection attempts' },
    () => transport().connectFailures,
  )
  readLabelledCounter(
    registry,
    { name: 'tally_replication_events_total', help: 'Anti-entropy and push events, by kind' },
    'event',
    () => {
      const s = node.replicator.stats
      return {
        round: s.rounds,
        pull_in: s.pullsIn,
        in_sync: s.inSync,
        push_in: s.pushesIn,
        push_out: s.pushesOut,
        delta_applied: s.deltasApplied,
        delta_invalid: s.deltasInvalid,
        forward: s.forwards,
        persist_failure: s.persistFailures,
        slice_out: s.slicesOut,
        slice_ask: s.sliceAsks,
      }
    },
  )

  gauge(
    registry,
    'tally_gossip_connections',
    'Open gossip TCP connections',
    () => transport().openConnections,
  )
  gauge(registry, 'tally_counters', 'Named counters held', () => node.map.size)
  gauge(registry, 'tally_replicas', 'Replica ids this node holds entries of (its version summary)', () =>
    replicaCount(node),
  )
  gauge(registry, 'tally_key_records', 'Idempotency-Key records held (own and learnt)', () => node.keys.size)
  gauge(registry, 'tally_idempotency_keys', 'Idempotency-Key answers this node holds', () => node.keyAnswers)
  gauge(registry, 'tally_cluster_size', 'Cluster size used for quorum arithmetic (self included)', () =>
    node.clusterSize(),
  )
  gauge(
    registry,
    'tally_replication_lag_max_seconds',
    'Largest time since a live or suspect peer’s digest last matched ours (since start when never)',
    () => {
      const ids = node.membership
        .list()
        .filter((p) => p.state !== 'dead')
        .map((p) => p.id)
      return node.replicator.sync.maxLagSeconds(ids, Date.now(), node.startedAt)
    },
  )
  gauge(registry, 'tally_http_inflight_requests', 'HTTP requests being handled', () =>
    Math.max(0, load().inflight),
  )
  gauge(
    registry,
    'tally_event_loop_delay_seconds',
    'Mean event-loop delay over the last second beyond the sampling period',
    () => load().eventLoopDelayMs / 1000,
  )
  gauge(
    registry,
    'tally_store_failed',
    '1 once a write could not be made durable (the node stopped serving)',
    () => (node.storeFailure === null ? 0 : 1),
  )

  return {
    registry,
    writes,
  }
}

function gauge(registry: MetricsRegistry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    },
  })
}

function replicaCount(node: TallyNode): number {
  return Object.keys(node.map.summary()).length
}
