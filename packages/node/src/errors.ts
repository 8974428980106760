// The domain errors of tally-node: a stable `code` (never changes meaning
// within a major version; messages may be reworded), a message, and for some
// codes details a client can act on. No HTTP here: the edge (http/) maps
// codes to statuses in http/error-status.ts. The node core also lets
// `TallyError`s of @tally/crdt through (bad name, bad amount, overflow,
// unsafe value), and the store throws `StoreError`, a NodeError subclass
// (storage/store-errors.ts).

/** Stable codes of the errors tally-node answers (the README lists them with their HTTP status). */
export const NodeErrorCodes = {
  /** A request's body, query, params or headers failed validation (unknown field, wrong type, bad JSON). */
  BAD_REQUEST: 'TALLY_BAD_REQUEST',
  /** The Idempotency-Key header is not 1–128 printable ASCII characters. */
  IDEMPOTENCY_KEY_INVALID: 'TALLY_IDEMPOTENCY_KEY_INVALID',
  /** The Tally-Attempt header is not an integer 1–100. */
  ATTEMPT_INVALID: 'TALLY_ATTEMPT_INVALID',
  /** No such route. */
  NOT_FOUND: 'TALLY_NOT_FOUND',
  /** The request body is larger than the limit. */
  BODY_TOO_LARGE: 'TALLY_BODY_TOO_LARGE',
  /** The request body is not JSON. */
  UNSUPPORTED_MEDIA_TYPE: 'TALLY_UNSUPPORTED_MEDIA_TYPE',
  /** The Idempotency-Key was first used with a different counter, operation or amount. */
  IDEMPOTENCY_MISMATCH: 'TALLY_IDEMPOTENCY_MISMATCH',
  /** A write could not be made durable; from then on the node serves nothing until restarted. */
  STORE_FAILED: 'TALLY_STORE_FAILED',
  /** The node is stopping. */
  SHUTTING_DOWN: 'TALLY_SHUTTING_DOWN',
  /** The write is durable here, but fewer replicas than required confirmed it in time (details: confirmed, required). */
  QUORUM_TIMEOUT: 'TALLY_QUORUM_TIMEOUT',
  /**
   * A delete or TTL change at quorum/all needs more replicas than this node
   * can reach (members it holds dead; details: required, reachable, down):
   * refused at once, nothing changed.
   */
  QUORUM_UNAVAILABLE: 'TALLY_QUORUM_UNAVAILABLE',
  /**
   * A bounded-counter decrement the node could not cover with its rights,
   * even after asking peers (details: localRights, value, requested, holder?).
   */
  BOUND_EXCEEDED: 'TALLY_BOUND_EXCEEDED',
  /** A TTL is not a whole number of ms from 1 to 2^53−1 minus now (`ttlMs` of `PUT /counters/:name/ttl`). */
  TTL_INVALID: 'TALLY_TTL_INVALID',
  /** The counter does not exist here (never written, deleted or expired): a TTL cannot be set on it. */
  COUNTER_NOT_FOUND: 'TALLY_COUNTER_NOT_FOUND',
  /** A bug: anything unexpected. */
  INTERNAL: 'TALLY_INTERNAL',
} as const

/** One of {@link NodeErrorCodes}. */
export type NodeErrorCode = (typeof NodeErrorCodes)[keyof typeof NodeErrorCodes]

/** Facts about a failure a client can act on (e.g. `confirmed`, `required` of a quorum timeout). */
export type ErrorDetails = Readonly<Record<string, number | string>>

/**
 * An error of tally-node with a stable `code`. `details`, when present, go
 * out with the code and message (HTTP: inside the error object). Carries no
 * status: the edges decide how to answer it.
 */
export class NodeError<C extends string = NodeErrorCode> extends Error {
  readonly code: C
  readonly details: ErrorDetails | undefined

  constructor(code: C, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'NodeError'
    this.code = code
    this.details = opts.details
  }
}

/** True when `err` is a {@link NodeError} (optionally with the given code). Never throws. */
export function isNodeError(err: unknown, code?: string): err is NodeError<string> {
  return err instanceof NodeError && (code === undefined || err.code === code)
}
