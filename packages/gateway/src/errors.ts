import createError from '@fastify/error'

/**
 * The gateway error catalog. Codes are stable within a major version and
 * listed in the package README; messages may change. Every HTTP error body is
 * `{ error: { code, message } }` (see `error-handler.ts`). Errors a node
 * returns (4xx, and 504 TALLY_QUORUM_TIMEOUT) are relayed as-is with
 * {@link RelayedError}, so the node's codes reach the client unchanged.
 */
export const Errors = {
  /** Body, params, query or JSON are malformed or break the schema. Nothing was sent to a node. */
  BadRequest: createError<'TALLY_BAD_REQUEST', 400, [string]>('TALLY_BAD_REQUEST', '%s', 400),
  /** `amount` (or `count` of `/items`) is not a positive safe integer. Same code as the nodes use. */
  AmountInvalid: createError<'TALLY_AMOUNT_INVALID', 400, [string]>('TALLY_AMOUNT_INVALID', '%s', 400),
  /** A counter name breaks the naming rules of `@tally/crdt`. Same code as the nodes use. */
  NameInvalid: createError<'TALLY_NAME_INVALID', 400, [string]>('TALLY_NAME_INVALID', '%s', 400),
  /** A tenant of `/items` is not 1–122 printable ASCII characters without spaces (so that `items:<tenant>` is a valid name). */
  TenantInvalid: createError<'TALLY_TENANT_INVALID', 400, [string]>('TALLY_TENANT_INVALID', '%s', 400),
  /** `Idempotency-Key` is present but not 1–128 printable ASCII characters. */
  IdempotencyKeyInvalid: createError<'TALLY_IDEMPOTENCY_KEY_INVALID', 400, [string]>(
    'TALLY_IDEMPOTENCY_KEY_INVALID',
    '%s',
    400,
  ),
  /** `?consistency=` is not one of one|quorum|all. */
  ConsistencyInvalid: createError<'TALLY_CONSISTENCY_INVALID', 400, [string]>(
    'TALLY_CONSISTENCY_INVALID',
    '%s',
    400,
  ),
  /** No route matches. */
  NotFound: createError<'TALLY_NOT_FOUND', 404, [string]>('TALLY_NOT_FOUND', '%s', 404),
  /** Request body larger than the body limit. */
  BodyTooLarge: createError<'TALLY_BODY_TOO_LARGE', 413, [number]>(
    'TALLY_BODY_TOO_LARGE',
    'request body exceeds %d bytes',
    413,
  ),
  /** Request body is not `application/json`. */
  UnsupportedMediaType: createError<'TALLY_UNSUPPORTED_MEDIA_TYPE', 415, []>(
    'TALLY_UNSUPPORTED_MEDIA_TYPE',
    'request body must be application/json',
    415,
  ),
  /** The gateway knows no node it could send the request to (none configured, or all ejected and failing). */
  NoNodes: createError<'TALLY_NO_NODES', 503, [string]>('TALLY_NO_NODES', '%s', 503),
  /** The gateway is closing (SIGTERM): new requests are refused while in-flight ones finish. */
  ShuttingDown: createError<'TALLY_SHUTTING_DOWN', 503, [string]>('TALLY_SHUTTING_DOWN', '%s', 503),
  /** A consistency read could not gather states from enough nodes. The message says how many answered. */
  QuorumUnavailable: createError<'TALLY_QUORUM_UNAVAILABLE', 503, [string]>(
    'TALLY_QUORUM_UNAVAILABLE',
    '%s',
    503,
  ),
  /** Every attempt failed (connection errors, 5xx, bad answers) before the deadline. */
  UpstreamFailed: createError<'TALLY_UPSTREAM_FAILED', 502, [string]>('TALLY_UPSTREAM_FAILED', '%s', 502),
  /** The overall deadline passed before any node answered. */
  UpstreamTimeout: createError<'TALLY_UPSTREAM_TIMEOUT', 504, [string]>('TALLY_UPSTREAM_TIMEOUT', '%s', 504),
  /** A merged value is outside the safe-integer range (cannot be sent as an exact JSON number). */
  ValueUnsafe: createError<'TALLY_VALUE_UNSAFE', 500, [string]>('TALLY_VALUE_UNSAFE', '%s', 500),
  /** A bug: anything unexpected. Logged with its stack. */
  Internal: createError<'TALLY_INTERNAL', 500, [string]>('TALLY_INTERNAL', '%s', 500),
} as const

/** An error answer of a node passed through to the client unchanged (status, code, message). */
export class RelayedError extends Error {
  readonly statusCode: number
  readonly code: string
  /** Id of the node that answered. */
  readonly node: string
  /** The node's error body, sent back unchanged (extra fields such as `confirmed`/`required` included). */
  readonly body: { error: { code: string; message: string } }

  constructor(
    statusCode: number,
    code: string,
    message: string,
    node: string,
    body?: { error: { code: string; message: string } },
  ) {
    super(message)
    this.name = 'RelayedError'
    this.statusCode = statusCode
    this.code = code
    this.node = node
    this.body = body ?? { error: { code, message } }
  }
}
