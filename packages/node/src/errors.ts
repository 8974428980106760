// The HTTP error catalog of tally-node. Codes are stable API: never change
// the meaning of one; messages may be reworded. The one error handler in
// app.ts renders every error as { error: { code, message } }.

import createError from '@fastify/error'
import { TallyError } from '@tally/crdt'

/** Request body/query/params/headers failed schema validation. */
export const BadRequest = createError('TALLY_BAD_REQUEST', '%s', 400)
/** Amount not a positive safe integer. */
export const AmountInvalid = createError('TALLY_AMOUNT_INVALID', '%s', 400)
/** Counter name breaks the naming rules. */
export const NameInvalid = createError('TALLY_NAME_INVALID', '%s', 400)
/** Idempotency-Key header is not 1–128 printable ASCII characters. */
export const IdempotencyKeyInvalid = createError(
  'TALLY_IDEMPOTENCY_KEY_INVALID',
  'Idempotency-Key must be 1-128 printable ASCII characters',
  400,
)
/** Tally-Attempt header is not an integer 1–100. */
export const AttemptInvalid = createError(
  'TALLY_ATTEMPT_INVALID',
  'Tally-Attempt must be an integer from 1 to 100',
  400,
)
/** The operation would take a counter total past 2^53−1. */
export const Overflow = createError('TALLY_OVERFLOW', '%s', 422)
/** The value is outside the safe-integer range (reads only; see /state for exact parts). */
export const ValueUnsafe = createError('TALLY_VALUE_UNSAFE', '%s', 422)
/** The Idempotency-Key was first used with a different counter, operation or amount. */
export const IdempotencyMismatch = createError('TALLY_IDEMPOTENCY_MISMATCH', '%s', 422)
/** Unknown route. */
export const NotFound = createError('TALLY_NOT_FOUND', 'no route %s %s', 404)
/** Body larger than the limit. */
export const BodyTooLarge = createError('TALLY_BODY_TOO_LARGE', 'request body too large', 413)
/** Body that is not JSON. */
export const UnsupportedMedia = createError('TALLY_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
/** The write is durable here but fewer replicas than required confirmed it in time. */
export const QuorumTimeout = createError('TALLY_QUORUM_TIMEOUT', '%s', 504)
/** The store failed to make the write durable; the client should retry (with its Idempotency-Key). */
export const StoreFailed = createError('TALLY_STORE_FAILED', 'the write could not be made durable: %s', 503)
/** Same code, for every request after a failed write: the node no longer serves until restarted. */
export const StoreFenced = createError(
  'TALLY_STORE_FAILED',
  'this node stopped serving after a write could not be made durable (%s); restart it once storage is fixed',
  503,
)
/** The node is shutting down. */
export const ShuttingDown = createError('TALLY_SHUTTING_DOWN', 'node is shutting down', 503)
/** A bug: anything unexpected. */
export const Internal = createError('TALLY_INTERNAL', 'internal error', 500)

/** Maps a @tally/crdt error to the HTTP catalog; anything else is rethrown as is. */
export function toHttpError(err: unknown): Error {
  if (!(err instanceof TallyError)) return err as Error
  switch (err.code) {
    case 'TALLY_AMOUNT_INVALID':
      return new AmountInvalid(err.message)
    case 'TALLY_NAME_INVALID':
      return new NameInvalid(err.message)
    case 'TALLY_OVERFLOW':
      return new Overflow(err.message)
    case 'TALLY_VALUE_UNSAFE':
      return new ValueUnsafe(err.message)
    default:
      return new BadRequest(err.message)
  }
}
