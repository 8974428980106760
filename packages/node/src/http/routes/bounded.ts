// Bounded-counter routes: increment/decrement (`{"amount": n}`, keyed like
// the plain counters' writes) and the read with every replica's rights.
// Handlers read the request; the node's BoundedCounters does the rest
// (names and amounts are validated there too).

import type { FastifyInstance } from 'fastify'
import type { TallyNode } from '../../node.js'
import { readAttempt, readIdempotencyKey } from '../headers.js'
import type { LoadTracker } from '../load.js'
import { mutateBody, nameParams, noQuery } from '../schemas.js'

interface MutateRoute {
  Params: { name: string }
  Body: { amount?: number } | null | undefined
}

/**
 * Registers `POST /bounded/:name/increment`, `POST /bounded/:name/decrement`
 * and `GET /bounded/:name` on `app`, served by `opts.node.bounded`.
 */
export async function boundedRoutes(
  app: FastifyInstance,
  opts: { node: TallyNode; load: LoadTracker },
): Promise<void> {
  const { node, load } = opts
  const schema = { params: nameParams, querystring: noQuery, body: mutateBody }
  const mutate =
    (op: 'increment' | 'decrement') =>
    async (req: {
      params: MutateRoute['Params']
      body: MutateRoute['Body']
      headers: Record<string, string | string[] | undefined>
      raw: { rawHeaders: string[] }
    }) => {
      const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
      const attempt = readAttempt(req.headers['tally-attempt'], req.raw.rawHeaders)
      load.begin()
      try {
        return await node.bounded.mutate({
          name: req.params.name,
          op,
          amount: req.body?.amount ?? 1,
          key,
          attempt,
        })
      } finally {
        load.end()
      }
    }
  app.post<MutateRoute>('/bounded/:name/increment', { schema }, mutate('increment'))
  app.post<MutateRoute>('/bounded/:name/decrement', { schema }, mutate('decrement'))
  app.get<{ Params: { name: string } }>(
    '/bounded/:name',
    { schema: { params: nameParams, querystring: noQuery } },
    async (req) => node.bounded.view(req.params.name),
  )
}
