// The HTTP error codes every Tally server shares, each with ONE status, and
// the one error mechanism: cores throw a DomainError (code, no status); the
// HTTP edge turns codes into statuses with its package's ERROR_STATUS table
// and answers `{ "error": { "code", "message", ...extra } }`.

/**
 * Codes every server may answer, → status. `TALLY_VALUE_UNSAFE` is 422 for
 * all: a value outside the safe-integer range cannot be sent as an exact JSON
 * number, whether a node reads it or the gateway merges it (the request was
 * understood; the value cannot be represented).
 */
export const SHARED_ERROR_STATUS = {
  /** Body, params, query, headers or JSON are malformed or break the schema. */
  TALLY_BAD_REQUEST: 400,
  /** No route matches. */
  TALLY_NOT_FOUND: 404,
  /** The request did not arrive completely within the server's request timeout. */
  TALLY_REQUEST_TIMEOUT: 408,
  /** The body is larger than the body limit. */
  TALLY_BODY_TOO_LARGE: 413,
  /** The body is not `application/json`. */
  TALLY_UNSUPPORTED_MEDIA_TYPE: 415,
  /** Request line plus headers exceed the parser's limit (16 KiB): a long URL or a long header. */
  TALLY_HEADERS_TOO_LARGE: 431,
  /** `amount` (or `count`) is not a positive safe integer. */
  TALLY_AMOUNT_INVALID: 400,
  /** A counter name breaks the naming rules of `@tally/crdt`. */
  TALLY_NAME_INVALID: 400,
  /** `Idempotency-Key` is present but not 1–128 printable ASCII characters. */
  TALLY_IDEMPOTENCY_KEY_INVALID: 400,
  /** A value is outside the safe-integer range. */
  TALLY_VALUE_UNSAFE: 422,
  /** The server is closing; retry elsewhere. */
  TALLY_SHUTTING_DOWN: 503,
  /** A bug: logged with its stack. */
  TALLY_INTERNAL: 500,
} as const satisfies Readonly<Record<string, number>>

/** One of the shared codes. */
export type SharedErrorCode = keyof typeof SHARED_ERROR_STATUS

/** The fixed messages of the shared codes whose message never varies. */
export const MESSAGES = {
  bodyTooLarge: (limitBytes: number): string => `request body exceeds ${limitBytes} bytes`,
  unsupportedMediaType: 'request body must be application/json',
  invalidJson: 'body is not valid JSON',
  duplicateKey: (key: string): string =>
    `duplicate key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)} in the JSON body`,
  notFound: (method: string, path: string): string => `no route ${method} ${path.slice(0, 200)}`,
  internal: 'internal error',
} as const

/** Extra fields of an error body beside `code` and `message` (e.g. `confirmed`, `required`). */
export type ErrorExtra = Readonly<Record<string, string | number | boolean>>

/**
 * A core's refusal: a stable `TALLY_…` code and a human message, no status
 * (the HTTP edge looks the code up in its ERROR_STATUS table; RESP replies
 * use the code). `extra` fields are copied into the error body.
 */
export class DomainError<C extends string = string> extends Error {
  readonly code: C
  readonly extra: ErrorExtra | undefined
  constructor(code: C, message: string, extra?: ErrorExtra) {
    super(message)
    this.name = 'DomainError'
    this.code = code
    this.extra = extra
  }
}

/**
 * An error answer: code, status, message and optional extra body fields.
 * Thrown from routes and hooks, it is sent as is by the error handler
 * (`statusCode` is the name fastify reads). Throws RangeError for a status
 * outside 400–599 (a programmer mistake).
 */
export class HttpError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly extra: ErrorExtra | undefined
  constructor(code: string, statusCode: number, message: string, extra?: ErrorExtra) {
    if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599)
      throw new RangeError(`HttpError ${code}: status ${statusCode} is not 4xx/5xx`)
    super(message)
    this.name = 'HttpError'
    this.code = code
    this.statusCode = statusCode
    this.extra = extra
  }

  /** The HTTP status (same as `statusCode`). */
  get status(): number {
    return this.statusCode
  }

  /** The house error body: `{ error: { code, message, ...extra } }`. */
  body(): { error: { code: string; message: string } & Record<string, unknown> } {
    return { error: { ...this.extra, code: this.code, message: this.message } }
  }
}

/** An {@link HttpError} for a shared code, with its one status. Never throws. */
export function httpError(code: SharedErrorCode, message: string, extra?: ErrorExtra): HttpError {
  return new HttpError(code, SHARED_ERROR_STATUS[code], message, extra)
}

/**
 * The factory of one package's catalog: `(code, message, extra?)` → an
 * HttpError with the status `table` gives the code. Types restrict `code` to
 * the table's keys.
 */
export function errorFactory<T extends Readonly<Record<string, number>>>(
  table: T,
): (code: keyof T & string, message: string, extra?: ErrorExtra) => HttpError {
  return (code, message, extra) => new HttpError(code, table[code] as number, message, extra)
}
