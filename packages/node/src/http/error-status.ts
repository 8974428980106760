// The one translation of errors into HTTP answers: every code tally-node can
// answer with its status, in one table, and one function that turns any
// error (domain, CRDT, store, fastify, or a bug) into a status and the body
// `{ error: { code, message, ...details } }`.

import { isTallyError } from '@tally/crdt'
import type { FastifyError } from 'fastify'
import { isNodeError, NodeErrorCodes } from '../errors.js'

/** HTTP status of every error code tally-node answers. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  TALLY_BAD_REQUEST: 400,
  TALLY_AMOUNT_INVALID: 400,
  TALLY_NAME_INVALID: 400,
  TALLY_IDEMPOTENCY_KEY_INVALID: 400,
  TALLY_ATTEMPT_INVALID: 400,
  TALLY_NOT_FOUND: 404,
  TALLY_BODY_TOO_LARGE: 413,
  TALLY_UNSUPPORTED_MEDIA_TYPE: 415,
  TALLY_OVERFLOW: 422,
  TALLY_VALUE_UNSAFE: 422,
  TALLY_IDEMPOTENCY_MISMATCH: 422,
  TALLY_STORE_FAILED: 503,
  TALLY_SHUTTING_DOWN: 503,
  TALLY_QUORUM_TIMEOUT: 504,
  TALLY_INTERNAL: 500,
}

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: number | string }
}

/** An error as HTTP answers it. `unexpected`: a bug, to be logged. */
export interface HttpError {
  status: number
  body: ErrorBody
  unexpected: boolean
}

// Schema refusals of these fields have their own codes.
const FIELD_CODES: Readonly<Record<string, string>> = {
  '/amount': 'TALLY_AMOUNT_INVALID',
  '/name': 'TALLY_NAME_INVALID',
}

/**
 * Translates `err` into its HTTP answer. Domain errors (NodeError,
 * StoreError) and @tally/crdt errors keep their code, with the status of
 * {@link ERROR_STATUS} (a crdt code not listed there is a bad request);
 * fastify's refusals (schema, body size, media type, other 4xx) become the
 * matching TALLY_ code; anything else is 500 TALLY_INTERNAL, marked
 * unexpected. Pure; never throws.
 */
export function toHttp(err: unknown): HttpError {
  if (isNodeError(err) && ERROR_STATUS[err.code] !== undefined) {
    return answer(err.code, err.message, err.details)
  }
  if (isTallyError(err)) {
    return ERROR_STATUS[err.code] === undefined
      ? answer(NodeErrorCodes.BAD_REQUEST, err.message)
      : answer(err.code, err.message)
  }
  const f = err as Partial<FastifyError> | null
  if (f?.validation) {
    const v = f.validation[0]
    const path = v?.instancePath ?? ''
    const msg = v?.message ?? 'is invalid'
    const code = FIELD_CODES[path]
    if (code !== undefined) return answer(code, `${path.slice(1)} ${msg}`)
    return answer(NodeErrorCodes.BAD_REQUEST, `${f.validationContext ?? 'request'}${path} ${msg}`)
  }
  if (f?.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return answer(NodeErrorCodes.BODY_TOO_LARGE, 'request body too large')
  if (f?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return answer(NodeErrorCodes.UNSUPPORTED_MEDIA_TYPE, 'send application/json')
  }
  if (f?.code?.startsWith('FST_') && (f.statusCode ?? 500) < 500) {
    return answer(NodeErrorCodes.BAD_REQUEST, f.message ?? 'bad request')
  }
  return { ...answer(NodeErrorCodes.INTERNAL, 'internal error'), unexpected: true }
}

function answer(
  code: string,
  message: string,
  details?: Readonly<Record<string, number | string>>,
): HttpError {
  const error: ErrorBody['error'] = { code, message }
  for (const [k, v] of Object.entries(details ?? {})) if (k !== 'code' && k !== 'message') error[k] = v
  return { status: ERROR_STATUS[code] ?? 500, body: { error }, unexpected: false }
}
