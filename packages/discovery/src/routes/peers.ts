// The registry routes: register, heartbeat, list, deregister.

import type { FastifyInstance } from 'fastify'
import { Errors } from '../errors.js'
import type { DiscoveryMetrics } from '../metrics.js'
import { checkHttpUrl, parseHostPort } from '../validate.js'
import { heartbeatBody, idParams, peerView, registerAnswer, registerBody } from './schemas.js'

/** Options of {@link peerRoutes}. */
export interface PeerRoutesOptions {
  /** Entry lifetime without heartbeat, ms (echoed by `/heartbeat`). */
  readonly ttlMs: number
  /** Where registrations and heartbeats are counted. */
  readonly metrics?: DiscoveryMetrics
}

/** Registers `POST /register`, `POST /heartbeat`, `GET /peers` and `DELETE /peers/:id` on `app.registry`. */
export async function peerRoutes(app: FastifyInstance, opts: PeerRoutesOptions): Promise<void> {
  const registry = app.registry

  app.post<{ Body: { id: string; addr: string; http: string } }>(
    '/register',
    { schema: { body: registerBody, response: { 200: registerAnswer } } },
    async (req) => {
      const { id, addr, http } = req.body
      const hp = parseHostPort(addr)
      if (typeof hp === 'string') throw Errors.badRequest(`body/addr ${hp}`)
      const bad = checkHttpUrl(http)
      if (bad !== undefined) throw Errors.badRequest(`body/http ${bad}`)
      const outcome = registry.register({ id, addr, http })
      opts.metrics?.registered(outcome)
      if (outcome === 'full') throw Errors.tableFull(registry.size)
      if (outcome === 'created') req.log.info({ id, addr, http }, 'node registered')
      else req.log.debug({ id, addr, http }, 'node re-registered')
      return { peers: registry.list(), version: registry.version }
    },
  )

  app.post<{ Body: { id: string } }>('/heartbeat', { schema: { body: heartbeatBody } }, async (req) => {
    const known = registry.heartbeat(req.body.id)
    opts.metrics?.heartbeat(known)
    if (!known) throw Errors.unknownNode(req.body.id)
    return { id: req.body.id, ttlMs: opts.ttlMs, version: registry.version }
  })

  app.get('/peers', { schema: { response: { 200: { type: 'array', items: peerView } } } }, async () =>
    registry.list(),
  )

  app.delete<{ Params: { id: string } }>(
    '/peers/:id',
    { schema: { params: idParams } },
    async (req, reply) => {
      if (!registry.remove(req.params.id)) throw Errors.unknownNode(req.params.id)
      req.log.info({ id: req.params.id }, 'node deregistered')
      return reply.status(204).send()
    },
  )
}
