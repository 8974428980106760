// Operator routes: the node's health (what gateways and probes act on), its
// peers, its JSON stats and its Prometheus metrics.

import { type MetricsRegistry, metricsRoute } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import type { TallyNode } from '../../node.js'
import type { LoadTracker } from '../load.js'
import { noQuery } from '../schemas.js'

/** Options of {@link clusterRoutes}. */
export interface ClusterRouteOptions {
  node: TallyNode
  /** The HTTP load (see load.ts). */
  load: LoadTracker
  /** The app's Prometheus registry, served at `GET /metrics`. */
  metrics: MetricsRegistry
}

/** Registers `GET /health`, `/peers`, `/stats` (JSON) and `/metrics` (Prometheus text) on `app`. */
export async function clusterRoutes(app: FastifyInstance, opts: ClusterRouteOptions): Promise<void> {
  const { node, load } = opts

  // 503 once storage failed, so gateways and operators take the node out of service.
  app.get('/health', async (_req, reply) => {
    let status = node.stopping ? 'stopping' : 'ok'
    if (node.storeFailure !== null) {
      status = 'store-failed'
      reply.code(503)
    }
    return {
      id: node.identity.nodeId,
      replica: node.identity.replicaId,
      status,
      peers: node.membership.counts(),
      uptime: Math.round((Date.now() - node.startedAt) / 1000),
      load: load.read(),
    }
  })
  app.get('/peers', async () => ({ peers: node.membership.list() }))
  metricsRoute(app, opts.metrics)
  app.get('/stats', { schema: { querystring: noQuery } }, async () => ({
    id: node.identity.nodeId,
    counters: node.map.size,
    digest: node.map.digest(),
    clusterSize: node.clusterSize(),
    peers: node.membership.counts(),
    idempotencyKeys: node.keyAnswers,
    keyRecords: node.keys.size,
    keys: node.keyStats,
    snapshots: node.snapshots,
    replication: node.replicator.stats,
    resets: node.resets.stats,
    bounded: {
      counters: node.bounded.map.size,
      ...node.bounded.stats,
      ...node.boundedReplication.stats,
      keyRecords: node.bounded.keys.ledger.size,
      ...node.bounded.keys.stats,
    },
    transport: node.transportStats(),
    load: load.read(),
  }))
}
