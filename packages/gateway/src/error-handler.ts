// How the gateway's errors become answers: kit's error handler (house body,
// code → status with ERROR_STATUS, only unexpected errors logged at error),
// plus the relay of a node's own error answer, sent unchanged with the
// node's status.

import type { ErrorMapping } from '@tally/kit'
import type { FastifyError, FastifyReply } from 'fastify'
import { ERROR_STATUS, RelayedError } from './errors.js'

/** Sends a node's error answer unchanged (status, body, `x-tally-node`); undefined for any other error. */
function relay(err: FastifyError, _req: unknown, reply: FastifyReply): FastifyReply | undefined {
  if (!(err instanceof RelayedError)) return undefined
  reply.header('x-tally-node', err.node)
  return reply.code(err.statusCode).send(err.body)
}

/** The gateway's error mapping, given to createFastify. */
export const ERROR_MAPPING: ErrorMapping = { status: ERROR_STATUS, intercept: relay }
