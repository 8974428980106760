// Rate-limit route: `POST /limits/:name/hit`, checked here with the same
// rules as the nodes, then forwarded with failover; the node's answer plus
// `node` (which node decided).

import { readLimitBody } from '@tally/kit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { forwardHit } from '../limits.js'
import { withNode } from '../upstream.js'
import { readIdempotencyKey, readName } from '../validate.js'
import { nameParams } from './schemas.js'

/** Registers `POST /limits/:name/hit`: `{allowed, limit, remaining, resetMs, node}`. */
export async function limitRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway
  app.post(
    '/limits/:name/hit',
    { schema: { params: nameParams } },
    async (req: FastifyRequest<{ Params: { name?: string } }>, reply) => {
      const name = readName(req.params.name)
      const hit = readLimitBody(req.body)
      const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
      const served = await forwardHit(gw, name, hit, key)
      return reply
        .header('x-tally-node', served.nodeId)
        .header('content-type', 'application/json; charset=utf-8')
        .send(withNode(served.text, served.nodeId))
    },
  )
}
