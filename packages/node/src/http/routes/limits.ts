// Rate-limit route: `POST /limits/:name/hit` with `{limit, windowMs, amount?}`.
// The body is checked by the shared rules of @tally/kit (the gateway and
// TALLY.LIMIT use the same), the node decides on its own view.

import { readLimitBody } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import type { TallyNode } from '../../node.js'
import { readIdempotencyKey } from '../headers.js'
import type { LoadTracker } from '../load.js'
import { nameParams, noQuery } from '../schemas.js'

/**
 * Registers `POST /limits/:name/hit` on `app`, served by `opts.node`:
 * `200 {allowed, limit, remaining, resetMs}` (a refused hit is a 200 too,
 * with `allowed: false`); bad input is a 400 that changes nothing.
 */
export async function limitRoutes(
  app: FastifyInstance,
  opts: { node: TallyNode; load: LoadTracker },
): Promise<void> {
  const { node, load } = opts
  app.post<{ Params: { name: string } }>(
    '/limits/:name/hit',
    { schema: { params: nameParams, querystring: noQuery } },
    async (req) => {
      const hit = readLimitBody(req.body)
      const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
      // An allowed hit waits for its fsync: it counts as in flight meanwhile.
      load.begin()
      try {
        return await node.limits.hit(req.params.name, hit, key)
      } finally {
        load.end()
      }
    },
  )
}
