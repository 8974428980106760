// Delete and TTL routes through the gateway: `DELETE /counters/:name`,
// `PUT /counters/:name/ttl` `{ttlMs}`, `DELETE /counters/:name/ttl`, checked
// here with the nodes' rules and forwarded with failover, one idempotency
// key and a consistency level (`?consistency=`, default
// LIFECYCLE_DEFAULT_CONSISTENCY: lifecycle-forward.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { nameSegment } from '../gateway.js'
import { forwardLifecycle } from '../lifecycle-forward.js'
import { withNode } from '../upstream.js'
import { readConsistency, readIdempotencyKey, readName, readTtlMs } from '../validate.js'
import { consistencyQuery, nameParams, ttlBody } from './schemas.js'

type Req = FastifyRequest<{
  Params: { name?: string }
  Querystring: { consistency?: unknown }
  Body: { ttlMs?: unknown } | undefined
}>

/** Registers the delete and TTL routes. */
export async function lifecycleRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway
  const send = async (
    req: Req,
    reply: FastifyReply,
    method: 'PUT' | 'DELETE',
    suffix: string,
    body?: unknown,
  ): Promise<FastifyReply> => {
    const name = readName(req.params.name)
    const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
    const level = readConsistency(req.query.consistency)
    const path = `/counters/${nameSegment(name)}${suffix}`
    const served = await forwardLifecycle(gw, method, path, body, key, level)
    return reply
      .header('x-tally-node', served.nodeId)
      .header('content-type', 'application/json; charset=utf-8')
      .send(withNode(served.text, served.nodeId))
  }
  const schema = { params: nameParams, querystring: consistencyQuery }

  app.delete('/counters/:name', { schema }, (req: Req, reply) => send(req, reply, 'DELETE', ''))
  app.put('/counters/:name/ttl', { schema: { ...schema, body: ttlBody } }, (req: Req, reply) =>
    send(req, reply, 'PUT', '/ttl', { ttlMs: readTtlMs(req.body?.ttlMs) }),
  )
  app.delete('/counters/:name/ttl', { schema }, (req: Req, reply) => send(req, reply, 'DELETE', '/ttl'))
}
