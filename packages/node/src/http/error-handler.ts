// The one error handler of the node's HTTP API, and the answer to unknown
// routes: both render through toHttp (error-status.ts).

import type { FastifyReply, FastifyRequest } from 'fastify'
import { NodeError, NodeErrorCodes } from '../errors.js'
import { toHttp } from './error-status.js'

/** Fastify error handler: answers `err` as {@link toHttp} says; logs unexpected errors (bugs) at error. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const res = toHttp(err)
  if (res.unexpected) req.log.error({ err }, 'unexpected error')
  return reply.code(res.status).send(res.body)
}

/** Fastify not-found handler: 404 TALLY_NOT_FOUND naming the method and path. */
export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = new NodeError(NodeErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`)
  return errorHandler(err, req, reply)
}
