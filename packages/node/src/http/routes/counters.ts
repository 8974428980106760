// Counter routes: increment/decrement (default and named counters), reads,
// the list, and the raw CRDT state. Handlers read the request, the node does
// the rest (names are validated there).

import type { Consistency } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import type { TallyNode } from '../../node.js'
import { readAttempt, readIdempotencyKey } from '../headers.js'
import type { LoadTracker } from '../load.js'
import { mutateBody, mutateQuery, nameParams, stateQuery } from '../schemas.js'

interface MutateRoute {
  Params: { name?: string }
  Querystring: { consistency?: Consistency }
  Body: { amount?: number } | null | undefined
}

/**
 * Registers `POST /increment`, `/decrement`, `/counters/:name/increment`,
 * `/counters/:name/decrement`, `GET /counter`, `/counters`,
 * `/counters/:name` and `/state` on `app`, served by `opts.node`.
 */
export async function counterRoutes(
  app: FastifyInstance,
  opts: { node: TallyNode; load: LoadTracker },
): Promise<void> {
  const { node, load } = opts

  const mutate =
    (op: 'increment' | 'decrement') =>
    async (req: {
      params: MutateRoute['Params']
      query: MutateRoute['Querystring']
      body: MutateRoute['Body']
      headers: Record<string, string | string[] | undefined>
    }) => {
      // A write waits for its fsync (and quorum acks): it counts as in flight meanwhile.
      load.begin()
      try {
        return await node.mutate({
          name: req.params.name ?? 'default',
          op,
          amount: req.body?.amount ?? 1,
          key: readIdempotencyKey(req.headers['idempotency-key']),
          attempt: readAttempt(req.headers['tally-attempt']),
          consistency: req.query.consistency ?? 'one',
        })
      } finally {
        load.end()
      }
    }
  const mutateSchema = { querystring: mutateQuery, body: mutateBody }
  const namedSchema = { ...mutateSchema, params: nameParams }
  app.post<MutateRoute>('/increment', { schema: mutateSchema }, mutate('increment'))
  app.post<MutateRoute>('/decrement', { schema: mutateSchema }, mutate('decrement'))
  app.post<MutateRoute>('/counters/:name/increment', { schema: namedSchema }, mutate('increment'))
  app.post<MutateRoute>('/counters/:name/decrement', { schema: namedSchema }, mutate('decrement'))

  app.get('/counter', async () => ({ name: 'default', value: node.value('default') }))
  app.get('/counters', async () => ({
    counters: node.map.names().map((name) => ({ name, value: node.value(name) })),
  }))
  app.get<{ Params: { name: string } }>(
    '/counters/:name',
    { schema: { params: nameParams } },
    async (req) => {
      const { name } = req.params
      return { name, value: node.value(name) }
    },
  )
  app.get<{ Querystring: { name?: string } }>(
    '/state',
    { schema: { querystring: stateQuery } },
    async (req) => node.state(req.query.name),
  )
}
