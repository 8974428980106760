// Counter routes: the node API, routed through the gateway with failover,
// plus `node` (which node served it) in every answer.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { nameSegment } from '../gateway.js'
import { readAmount, readConsistency, readExplain, readIdempotencyKey, readName } from '../validate.js'
import { amountBody, consistencyQuery, counterQuery, nameParams } from './schemas.js'

type Req = FastifyRequest<{
  Params: { name?: string }
  Body: { amount?: unknown } | undefined
  Querystring: { consistency?: unknown; explain?: unknown }
}>

/** Registers `/counter`, `/increment`, `/decrement`, `/counters`, `/counters/:name[/increment|/decrement]`. */
export async function counterRoutes(app: FastifyInstance): Promise<void> {
  const gw = app.gateway

  const write = (op: 'increment' | 'decrement', named: boolean) => async (req: Req, reply: FastifyReply) => {
    const name = named ? readName(req.params.name) : 'default'
    const amount = readAmount(req.body?.amount, 'amount')
    const consistency = readConsistency(req.query.consistency)
    const key = readIdempotencyKey(req.headers['idempotency-key'], req.raw.rawHeaders)
    const path = named ? `/counters/${nameSegment(name)}/${op}` : `/${op}`
    const served = await gw.write(path, amount, key, consistency)
    reply.header('x-tally-node', served.nodeId)
    return { ...served.json, node: served.nodeId }
  }

  const readOne = (named: boolean) => async (req: Req, reply: FastifyReply) => {
    const name = named ? readName(req.params.name) : 'default'
    const consistency = readConsistency(req.query.consistency)
    const explain = named && readExplain(req.query.explain)
    if (consistency === undefined) {
      const path = named ? `/counters/${nameSegment(name)}${explain ? '?explain=1' : ''}` : '/counter'
      const served = await gw.read(path)
      reply.header('x-tally-node', served.nodeId)
      return { ...served.json, node: served.nodeId }
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
      const served = await gw.read('/counters')
      reply.header('x-tally-node', served.nodeId)
      return { ...served.json, node: served.nodeId }
    }
    const m = await gw.readMerged(undefined, consistency)
    const counters = m.names().map((name) => ({ name, value: m.value(name) }))
    return { counters, consistency, replicas: m.replicas, node: m.replicas[0] }
  })
}
