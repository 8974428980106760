// The one error handler of the gateway: kit's (house body, code → status
// with ERROR_STATUS, only unexpected errors logged at error), plus the relay
// of a node's own error answer, sent unchanged with the node's status.

import { errorHandler as kitErrorHandler } from '@tally/kit'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_STATUS, RelayedError } from './errors.js'

/** How the gateway's errors become answers (given to createFastify). */
export const ERROR_MAPPING = { status: ERROR_STATUS } as const

const base = kitErrorHandler(ERROR_MAPPING)

/** Renders `err` as the error body. Unknown errors are logged and become 500 TALLY_INTERNAL. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof RelayedError) {
    reply.header('x-tally-node', err.node)
    return reply.code(err.statusCode).send(err.body)
  }
  return base(err, req, reply)
}
