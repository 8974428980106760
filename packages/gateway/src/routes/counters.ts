// Counter routes: the node API, routed through the gateway with failover,
// plus `node` (which node served it) in every answer.

import { throwHandedOver } from '@tally/kit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Served } from '../forward.js'
import { nameSegment } from '../gateway.js'
import { withNode } from '../upstream.js'
import { readAmount, readConsistency, readExplain, readIdempotencyKey, readName } from '../validate.js'
import { amountBody, consistencyQuery, counterQuery, nameParams } from './schemas.js'

type Req = FastifyRequest<{
  Params: { name?: string }
  Body: { amount?: unknown } | undefined
  Querystring: { consistency?: unknown; explain?: unknown }
}>

// The relayed text of each answer, built once however many coalesced reads share the answer.
const relayed = new WeakMap<Served, string>()

/** The node's own JSON text plus `node` (spliced in, not re-serialised); built once per answer. */
export function relayedText(served: Served): string {
  let text = relayed.get(served)
  if (text === undefined) {
    text = withNode(served.text, served.nodeId)
    relayed.set(served, text)
  }
  return text
}

/** Answers with {@link relayedText} and the `x-tally-node` header. */
export function relay(reply: FastifyReply, served: Served): FastifyReply {
  return reply
    .header('x-tally-node', served.nodeId)
    .header('content-type', 'application/json; charset=utf-8')
    .send(relayedText(served))
}

/** Registers `/counter`, `/increment`, `/decrement`, `/counters`, `/counters/:name[/increment|/decrement]`. */
export async function counterRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway

  // Both throw first the error of a request the hot routes began (hot-routes.ts), for the error handler to answer.
  const write = (op: 'increment' | 'decrement', named: boolean) => async (req: Req, reply: FastifyReply) => {
    throwHandedOver(req.raw)
    const name = named ? readName(req.params.name) : 'default'
    const amount = readAmount(req.body?.amount, 'amount')
    const consistency = readConsistency(req.query.consistency)
    const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
    const path = named ? `/counters/${nameSegment(name)}/${op}` : `/${op}`
    return relay(reply, await gw.write(path, amount, key, consistency))
  }

  const readOne = (named: boolean) => async (req: Req, reply: FastifyReply) => {
    throwHandedOver(req.raw)
    const name = named ? readName(req.params.name) : 'default'
    const consistency = readConsistency(req.query.consistency)
    const explain = named && readExplain(req.query.explain)
    if (consistency === undefined) {
      return relay(
        reply,
        await gw.read(named ? `/counters/${nameSegment(name)}${explain ? '?explain=1' : ''}` : '/counter'),
      )
    }
    const m = await gw.readMerged(name, consistency)
    const answer = { name, value: m.value(name), consistency, replicas: m.replicas, node: m.replicas[0] }
    if (!explain) return answer
    return { ...answer, explain: { answered: m.answered(name), replicas: m.totals(name) } }
  }

  const writeSchema = { body: amountBody, querystring: consistencyQuery }
  const namedWriteSchema = { ...writeSchema, params: nameParams }

  app.get('/counter', { schema: { querystring: consistencyQuery } }, readOne(false))
  app.post('/increment', { schema: writeSchema }, write('increment', false))
  app.post('/decrement', { schema: writeSchema }, write('decrement', false))
  app.get('/counters/:name', { schema: { querystring: counterQuery, params: nameParams } }, readOne(true))
  app.post('/counters/:name/increment', { schema: namedWriteSchema }, write('increment', true))
  app.post('/counters/:name/decrement', { schema: namedWriteSchema }, write('decrement', true))

  app.get('/counters', { schema: { querystring: consistencyQuery } }, async (req: Req, reply) => {
    const consistency = readConsistency(req.query.consistency)
    if (consistency === undefined) {
      return relay(reply, await gw.read('/counters'))
    }
    const m = await gw.readMerged(undefined, consistency)
    const counters = m.names().map((name) => ({ name, value: m.value(name) }))
    return { counters, consistency, replicas: m.replicas, node: m.replicas[0] }
  })
}
