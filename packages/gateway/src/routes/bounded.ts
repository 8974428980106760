// Bounded-counter routes: the node's `/bounded/:name…` API through the
// gateway, with `node` (which node answered) in every answer. A refused
// decrement is retried on the node holding the most rights (bounded-write.ts).

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { boundedWrite } from '../bounded-write.js'
import { nameSegment } from '../gateway.js'
import { readAmount, readIdempotencyKey, readName } from '../validate.js'
import { relay } from './counters.js'
import { amountBody, nameParams, noQuery } from './schemas.js'

type Req = FastifyRequest<{ Params: { name?: string }; Body: { amount?: unknown } | undefined }>

/** Registers `POST /bounded/:name/increment`, `POST /bounded/:name/decrement`, `GET /bounded/:name`. */
export async function boundedRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway
  const write = (op: 'increment' | 'decrement') => async (req: Req, reply: Parameters<typeof relay>[0]) => {
    const name = readName(req.params.name)
    const amount = readAmount(req.body?.amount, 'amount')
    const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
    const path = `/bounded/${nameSegment(name)}/${op}`
    return relay(reply, await boundedWrite(gw.registry, gw.limits, path, amount, key))
  }
  const schema = { body: amountBody, querystring: noQuery, params: nameParams }
  app.post('/bounded/:name/increment', { schema }, write('increment'))
  app.post('/bounded/:name/decrement', { schema }, write('decrement'))
  app.get(
    '/bounded/:name',
    { schema: { querystring: noQuery, params: nameParams } },
    async (req: Req, reply) =>
      relay(reply, await gw.read(`/bounded/${nameSegment(readName(req.params.name))}`)),
  )
}
