// Delete and TTL routes: `DELETE /counters/:name`, `PUT /counters/:name/ttl`
// `{ttlMs}`, `DELETE /counters/:name/ttl`. Handlers read the request; the
// node validates names and TTLs and does the rest (resets/counter-lifecycle.ts).

import type { Consistency } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import type { TallyNode } from '../../node.js'
import { readIdempotencyKey } from '../headers.js'
import type { LoadTracker } from '../load.js'
import { mutateQuery, nameParams, ttlBody } from '../schemas.js'

type Headers = Record<string, string | string[] | undefined>

/** Registers the delete and TTL routes on `app`, served by `opts.node`. */
export async function lifecycleRoutes(
  app: FastifyInstance,
  opts: { node: TallyNode; load: LoadTracker },
): Promise<void> {
  const { node, load } = opts
  const key = (req: { headers: Headers; raw: { rawHeaders: string[] } }) =>
    readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
  // A write waits for its fsync: it counts as in flight meanwhile.
  const inFlight = async <T>(work: () => Promise<T>): Promise<T> => {
    load.begin()
    try {
      return await work()
    } finally {
      load.end()
    }
  }
  // `?consistency=one|quorum|all` as on writes (default one); anything else → 400 before any change.
  const params = { params: nameParams, querystring: mutateQuery }
  type Route = { Params: { name: string }; Querystring: { consistency?: Consistency } }

  app.delete<Route>('/counters/:name', { schema: params }, (req) =>
    inFlight(() => node.delete(req.params.name, key(req), req.query.consistency)),
  )
  app.put<Route & { Body: { ttlMs: unknown } }>(
    '/counters/:name/ttl',
    { schema: { ...params, body: ttlBody } },
    (req) =>
      inFlight(() => node.expire(req.params.name, req.body.ttlMs as number, key(req), req.query.consistency)),
  )
  app.delete<Route>('/counters/:name/ttl', { schema: params }, (req) =>
    inFlight(() => node.persist(req.params.name, key(req), req.query.consistency)),
  )
}
