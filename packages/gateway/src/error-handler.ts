// The one error handler: every failure becomes `{ error: { code, message } }`
// with a stable TALLY_ code; node errors are relayed unchanged.

import { isTallyError } from '@tally/crdt'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Errors, RelayedError } from './errors.js'

/** Renders `err` as the error body. Unknown errors are logged and become 500 TALLY_INTERNAL. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof RelayedError) {
    reply.header('x-tally-node', err.node)
    reply.code(err.statusCode).send(err.body)
    return
  }
  let e: { statusCode: number; code: string; message: string }
  if (err.validation) {
    e = new Errors.BadRequest(
      `${err.validationContext ?? 'request'} ${err.validation[0]?.message ?? 'is invalid'}`.trim(),
    )
  } else if (
    typeof err.code === 'string' &&
    err.code.startsWith('TALLY_') &&
    typeof err.statusCode === 'number'
  ) {
    e = { statusCode: err.statusCode, code: err.code, message: err.message }
  } else if (isTallyError(err)) {
    const code = err.code
    e = { statusCode: code === 'TALLY_VALUE_UNSAFE' ? 500 : 400, code, message: err.message }
  } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    e = new Errors.BodyTooLarge(req.routeOptions.bodyLimit ?? 0)
  } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    e = new Errors.UnsupportedMediaType()
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    e = new Errors.BadRequest(err.message)
  } else {
    req.log.error({ err }, 'unexpected error')
    e = new Errors.Internal('internal error')
  }
  reply.code(e.statusCode).send({ error: { code: e.code, message: e.message } })
}
