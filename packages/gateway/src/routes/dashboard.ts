// The operator dashboard: GET / (one self-contained page, dashboard-page.ts)
// and GET /dashboard/state, the JSON it polls every second — verdict, every
// remembered node, and the samples of the last 15 minutes (only those newer
// than `?since=` when given). Answered from the gateway's own data: never
// waits on a node.

import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'
import { DASHBOARD_PAGE } from './dashboard-page.js'

const stateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: {} },
} as const

/** Reads `?since=` (epoch ms, a non-negative integer); undefined when absent. Throws TALLY_BAD_REQUEST. */
export function readSince(x: unknown): number | undefined {
  if (x === undefined) return undefined
  const n = typeof x === 'string' && /^\d{1,16}$/.test(x) ? Number(x) : Number.NaN
  if (!Number.isSafeInteger(n)) {
    throw new GatewayError('TALLY_BAD_REQUEST', 'since must be a time in epoch milliseconds (digits only)')
  }
  return n
}

/** Registers `GET /` (the page) and `GET /dashboard/state` (its data). */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway

  app.get('/', async (_req, reply) => {
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
      )
      .header('x-content-type-options', 'nosniff')
    return DASHBOARD_PAGE
  })

  app.get<{ Querystring: { since?: unknown } }>(
    '/dashboard/state',
    { schema: { querystring: stateQuery } },
    async (req) => {
      const since = readSince(req.query.since)
      gw.sampler.refreshHistory()
      const now = gw.registry.now()
      const v = gw.sampler.verdict()
      const samples = gw.sampler.ring.toArray()
      return {
        now,
        verdict: {
          converged: v.converged,
          value: v.value,
          spread: v.spread,
          answering: v.answering,
          sinceChangeMs: now - v.lastChangeAt,
        },
        discovery:
          gw.discovery === null
            ? null
            : {
                reachable: gw.discovery.reachable,
                lastOkMsAgo: gw.discovery.lastOkAt === undefined ? null : now - gw.discovery.lastOkAt,
              },
        nodes: gw.history.list().map((r) => {
          const d = gw.sampler.detail(r.key)
          return {
            id: r.id ?? null,
            address: r.key,
            state: r.state,
            sinceMs: now - r.since,
            lastError: r.lastError ?? null,
            value: r.lastValue ?? null,
            peers: d?.peers ?? null,
            eventLoopDelayMs: d?.eventLoopDelayMs ?? null,
            lagSeconds: d?.lagSeconds ?? null,
          }
        }),
        samples: since === undefined ? samples : samples.filter((s) => s.t > since),
      }
    },
  )
}
