// Multi-tenant item counting: tenant `t` is the counter `items:<t>`.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { nameSegment } from '../gateway.js'
import { readAmount, readConsistency, readIdempotencyKey, tenantCounter } from '../validate.js'
import { consistencyQuery, itemsBody, tenantParams } from './schemas.js'

/** Registers `POST /items` and `GET /items/:tenant/count`. */
export async function itemRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway

  app.post(
    '/items',
    { schema: { body: itemsBody, querystring: consistencyQuery } },
    async (
      req: FastifyRequest<{
        Body: { tenant?: unknown; count?: unknown }
        Querystring: { consistency?: unknown }
      }>,
      reply,
    ) => {
      const body = req.body ?? {}
      const name = tenantCounter(body.tenant)
      const count = readAmount(body.count, 'count')
      const consistency = readConsistency(req.query.consistency)
      const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
      const served = await gw.write(`/counters/${nameSegment(name)}/increment`, count, key, consistency)
      reply.header('x-tally-node', served.nodeId)
      return { tenant: body.tenant as string, count: served.json.value, node: served.nodeId }
    },
  )

  app.get(
    '/items/:tenant/count',
    { schema: { params: tenantParams, querystring: consistencyQuery } },
    async (
      req: FastifyRequest<{ Params: { tenant: string }; Querystring: { consistency?: unknown } }>,
      reply,
    ) => {
      const tenant = req.params.tenant
      const name = tenantCounter(tenant)
      const consistency = readConsistency(req.query.consistency)
      if (consistency === undefined) {
        const served = await gw.read(`/counters/${nameSegment(name)}`)
        reply.header('x-tally-node', served.nodeId)
        return { tenant, count: served.json.value, node: served.nodeId }
      }
      const m = await gw.readMerged(name, consistency)
      return { tenant, count: m.value(name), consistency, replicas: m.replicas, node: m.replicas[0] }
    },
  )
}
