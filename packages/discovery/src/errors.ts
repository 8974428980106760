import createError from '@fastify/error'

/**
 * The discovery error catalog. Codes are stable within a major version and
 * listed in the package README; messages may change. Every HTTP error body is
 * `{ error: { code, message } }` (see `app.ts`).
 */
export const Errors = {
  /** Body, params or JSON are malformed or break the schema. Nothing changed. */
  BadRequest: createError<'TALLY_BAD_REQUEST', 400, [string]>('TALLY_BAD_REQUEST', '%s', 400),
  /** Heartbeat or deregistration for an id the registry does not hold (expired, never registered, or the registry restarted). */
  UnknownNode: createError<'TALLY_UNKNOWN_NODE', 404, [string]>(
    'TALLY_UNKNOWN_NODE',
    'node "%s" is not registered; register again with POST /register',
    404,
  ),
  /** A token is configured and the request lacks `Authorization: Bearer <token>` or it does not match. */
  Unauthorized: createError<'TALLY_UNAUTHORIZED', 401, []>(
    'TALLY_UNAUTHORIZED',
    'missing or wrong bearer token (send Authorization: Bearer <token>)',
    401,
  ),
  /** The registry holds its maximum number of entries; a new id cannot be added until others expire. */
  TableFull: createError<'TALLY_TABLE_FULL', 507, [number]>(
    'TALLY_TABLE_FULL',
    'registry is full (%d entries); try again after entries expire',
    507,
  ),
  /** Request body larger than the configured body limit. */
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
  /** No such route. */
  NotFound: createError<'TALLY_NOT_FOUND', 404, [string, string]>('TALLY_NOT_FOUND', 'no route %s %s', 404),
  /** A bug: the error was logged; the registry state is unchanged. */
  Internal: createError<'TALLY_INTERNAL', 500, []>('TALLY_INTERNAL', 'internal error', 500),
} as const

/** Every code the discovery server can put in an error body. */
export type DiscoveryErrorCode = ReturnType<(typeof Errors)[keyof typeof Errors]>['code']
