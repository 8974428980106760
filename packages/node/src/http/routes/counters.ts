// Counter routes: increment/decrement (default and named counters), reads,
// the list, and the raw CRDT state. Handlers read the request, the node does
// the rest (names are validated there).

import { type Consistency, throwHandedOver } from '@tally/kit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TallyNode } from '../../node.js'
import { explainCounter } from '../explain.js'
import { readAttempt, readIdempotencyKey } from '../headers.js'
import type { LoadTracker } from '../load.js'
import type { WriteMetrics } from '../metrics.js'
import { counterQuery, mutateBody, mutateQuery, nameParams, stateQuery } from '../schemas.js'

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
  opts: { node: TallyNode; load: LoadTracker; writes?: WriteMetrics },
): Promise<void> {
  const { node, load, writes } = opts

  // A write waits for its fsync (and quorum acks): it counts as in flight meanwhile. Not an
  // async handler: one `then` (which ends the count) per write, and fastify's own.
  const settled = <T>(value: T): T => {
    load.end()
    return value
  }
  const failed = (err: unknown): never => {
    load.end()
    throw err
  }
  const mutate =
    (op: 'increment' | 'decrement') =>
    (req: {
      params: MutateRoute['Params']
      query: MutateRoute['Querystring']
      body: MutateRoute['Body']
      headers: Record<string, string | string[] | undefined>
      raw: { rawHeaders: string[] }
    }): Promise<{ name: string; value: number }> => {
      // A write the hot path (hot-writes.ts) sent to the node and the node refused: answer its error.
      throwHandedOver(req.raw)
      // Header checks throw before the count starts (fastify answers a handler's throw as its rejection).
      const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
      const attempt = readAttempt(req.headers['tally-attempt'], req.raw.rawHeaders)
      load.begin()
      // mutate never throws: every refusal is a rejection, which ends the count too.
      return node
        .mutate({
          name: req.params.name ?? 'default',
          op,
          amount: req.body?.amount ?? 1,
          key,
          attempt,
          consistency: req.query.consistency ?? 'one',
        })
        .then(settled, failed)
    }
  // Every answered write, bad input included, is counted and timed once it is sent.
  const counted = (op: 'increment' | 'decrement') =>
    writes === undefined
      ? {}
      : {
          onResponse: (_req: FastifyRequest, reply: FastifyReply, done: () => void) => {
            writes.record(op, reply.statusCode, reply.elapsedTime / 1000)
            done()
          },
        }
  const mutateSchema = { querystring: mutateQuery, body: mutateBody }
  const namedSchema = { ...mutateSchema, params: nameParams }
  const inc = { schema: mutateSchema, ...counted('increment') }
  const dec = { schema: mutateSchema, ...counted('decrement') }
  app.post<MutateRoute>('/increment', inc, mutate('increment'))
  app.post<MutateRoute>('/decrement', dec, mutate('decrement'))
  app.post<MutateRoute>('/counters/:name/increment', { ...inc, schema: namedSchema }, mutate('increment'))
  app.post<MutateRoute>('/counters/:name/decrement', { ...dec, schema: namedSchema }, mutate('decrement'))

  app.get('/counter', async () => ({ name: 'default', value: node.value('default') }))
  app.get('/counters', async () => ({
    counters: node.names().map((name) => ({ name, value: node.value(name) })),
  }))
  app.get<{ Params: { name: string }; Querystring: { explain?: string } }>(
    '/counters/:name',
    { schema: { params: nameParams, querystring: counterQuery } },
    async (req) => {
      const { name } = req.params
      const value = node.value(name)
      const ttlMs = node.ttlMs(name)
      const answer = ttlMs === undefined ? { name, value } : { name, value, ttlMs }
      if (req.query.explain !== '1' && req.query.explain !== 'true') return answer
      return { ...answer, explain: explainCounter(node, name, Date.now()) }
    },
  )
  app.get<{ Querystring: { name?: string } }>(
    '/state',
    { schema: { querystring: stateQuery } },
    async (req) => {
      const state = node.state(req.query.name)
      // Reset marks ride along (gateway quorum reads apply them): only counters that have one.
      const marks = node.lifecycle.marks
      const name = req.query.name
      const tuples = name === undefined ? marks.tuples() : marks.has(name) ? [marks.tuple(name)] : []
      return tuples.length === 0 ? state : { ...state, marks: tuples }
    },
  )
}
