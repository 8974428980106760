// The one translation of errors into HTTP answers: every code tally-node can
// answer with its status, in one table, and one function that turns any
// error (domain, CRDT, store, fastify, or a bug) into a status and the body
// `{ error: { code, message, ...details } }`.

import { isTallyError } from '@tally/crdt'
import { HttpError as KitHttpError } from '@tally/kit'
import type { FastifyError } from 'fastify'
import { isNodeError, NodeErrorCodes } from '../errors.js'

/** HTTP status of every error code tally-node answers. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  TALLY_BAD_REQUEST: 400,
  TALLY_AMOUNT_INVALID: 400,
  TALLY_NAME_INVALID: 400,
  TALLY_IDEMPOTENCY_KEY_INVALID: 400,
  TALLY_ATTEMPT_INVALID: 400,
  TALLY_LIMIT_INVALID: 400,
  TALLY_WINDOW_INVALID: 400,
  TALLY_TTL_INVALID: 400,
  TALLY_NOT_FOUND: 404,
  TALLY_COUNTER_NOT_FOUND: 404,
  TALLY_REQUEST_TIMEOUT: 408,
  TALLY_BODY_TOO_LARGE: 413,
  TALLY_UNSUPPORTED_MEDIA_TYPE: 415,
  TALLY_HEADERS_TOO_LARGE: 431,
  TALLY_OVERFLOW: 422,
  TALLY_VALUE_UNSAFE: 422,
  TALLY_IDEMPOTENCY_MISMATCH: 422,
  TALLY_BOUND_EXCEEDED: 409,
  TALLY_STORE_FAILED: 503,
  TALLY_SHUTTING_DOWN: 503,
  TALLY_QUORUM_TIMEOUT: 504,
  TALLY_QUORUM_UNAVAILABLE: 503,
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
 * Translates an error of the node (its core, @tally/crdt, or a schema
 * refusal of one of its routes) into its HTTP answer. Domain errors
 * (NodeError, StoreError) and @tally/crdt errors keep their code, with the
 * status of {@link ERROR_STATUS} (a crdt code not listed there is a bad
 * request); a schema refusal of `amount` or `name` gets that field's code,
 * any other a bad request. Anything else is 500 TALLY_INTERNAL marked
 * `unexpected`: the HTTP layer then leaves it to the shared rules of
 * `@tally/kit` (body size, media type, router refusals, bugs). Pure; never
 * throws.
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

/**
 * The node's hook into the shared error handler of `@tally/kit`: the answer
 * {@link toHttp} gives for the node's own errors, or undefined for anything
 * else (which the shared rules then answer). Never throws.
 */
export function mapNodeError(err: unknown): KitHttpError | undefined {
  const res = toHttp(err)
  if (res.unexpected) return undefined
  const { code, message, ...extra } = res.body.error
  return new KitHttpError(code, res.status, message, extra)
}
