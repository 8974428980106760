// Operator routes: the node table (every node seen within --forget-after,
// down ones included), the gateway's own health and its Prometheus metrics.

import { metricsRoute } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'
import { Registry } from '../registry.js'
import { noQuery } from './schemas.js'

/** Registers `GET /nodes`, `GET /health` and `GET /metrics`. */
export async function clusterRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway
  metricsRoute(app, gw.metrics)

  // Answered from the gateway's own health data and last poll: never waits on a node.
  app.get('/nodes', { schema: { querystring: noQuery } }, async () => {
    gw.sampler.refreshHistory()
    const live = new Map(gw.registry.list().map((e) => [e.key, e]))
    return {
      nodes: gw.history.list().map((r) => {
        const e = live.get(r.key)
        const d = gw.sampler.detail(r.key)
        return {
          id: r.id ?? null,
          address: r.key,
          state: r.state,
          since: new Date(r.since).toISOString(),
          health: e?.health.health ?? 'gone',
          lastError: r.lastError ?? null,
          lastSeen: r.lastSeen === undefined ? null : new Date(r.lastSeen).toISOString(),
          lastCheck: e?.health.lastCheck === undefined ? null : new Date(e.health.lastCheck).toISOString(),
          source:
            e === undefined
              ? 'remembered'
              : e.fromStatic && (e.fromDiscovery || e.fromDns)
                ? 'both'
                : e.fromStatic
                  ? 'static'
                  : e.fromDns
                    ? 'dns'
                    : 'discovery',
          value: r.lastValue ?? null,
          load: e === undefined ? null : { gatewayInflight: e.inflight, ...(e.load ?? {}) },
          peers: d?.peers ?? null,
          replicationLagSeconds: d?.lagSeconds ?? null,
        }
      }),
    }
  })

  app.get('/health', { schema: { querystring: noQuery } }, async () => {
    const known = gw.registry.size
    const usable = gw.registry.usableCount()
    if (usable === 0) {
      throw new GatewayError(
        'TALLY_NO_NODES',
        known === 0
          ? 'the gateway knows no node (check --nodes / --discovery)'
          : `all ${known} known node(s) are ejected`,
      )
    }
    const nodes = gw.registry.list().map((e) => ({ id: Registry.label(e), health: e.health.health }))
    return { status: 'ok', usable, known, nodes }
  })
}
