// Operator routes: the node table and the gateway's own health.

import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'
import { Registry } from '../registry.js'
import { send } from '../upstream.js'
import { noQuery } from './schemas.js'

/** Registers `GET /nodes` and `GET /health`. */
export async function clusterRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway

  app.get('/nodes', { schema: { querystring: noQuery } }, async () => {
    const nodes = gw.registry.list()
    // The default counter's value, asked live of each node in parallel (null when it does not answer within 1 s).
    const values = await Promise.all(
      nodes.map(async (e) => {
        try {
          const ans = await send(e.pool, {
            method: 'GET',
            path: '/counter',
            timeoutMs: Math.min(1000, gw.limits.requestTimeoutMs),
          })
          const v = (ans.json as { value?: unknown } | undefined)?.value
          return ans.status === 200 && typeof v === 'number' ? v : null
        } catch {
          return null
        }
      }),
    )
    return {
      nodes: nodes.map((e, i) => ({
        id: e.id ?? null,
        address: e.key,
        health: e.health.health,
        load: { gatewayInflight: e.inflight, ...(e.load ?? {}) },
        lastCheck: e.health.lastCheck === undefined ? null : new Date(e.health.lastCheck).toISOString(),
        lastError: e.health.lastError ?? null,
        source:
          e.fromStatic && (e.fromDiscovery || e.fromDns)
            ? 'both'
            : e.fromStatic
              ? 'static'
              : e.fromDns
                ? 'dns'
                : 'discovery',
        value: values[i] ?? null,
      })),
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
