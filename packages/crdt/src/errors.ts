/**
 * Stable error codes. A code never changes meaning within a major version;
 * messages may be reworded. Callers branch on `code`, never on `message`.
 */
export const ErrorCodes = {
  /** An amount was not a positive safe integer (0, negative, fraction, NaN, Infinity, non-number, > 2^53−1). */
  AMOUNT_INVALID: 'TALLY_AMOUNT_INVALID',
  /** A local operation would push a counter's increment or decrement total (summed over all replicas) past 2^53−1. */
  OVERFLOW: 'TALLY_OVERFLOW',
  /** A counter's exact value is (or, for a refused local operation, would be) outside ±(2^53−1); read it with `bigValue`. */
  VALUE_UNSAFE: 'TALLY_VALUE_UNSAFE',
  /** A counter name broke the naming rules (1–128 printable ASCII characters U+0021–U+007E, not `__proto__`). */
  NAME_INVALID: 'TALLY_NAME_INVALID',
  /** A replica id was not a string of 1–256 UTF-16 units without control characters or lone surrogates (and not `__proto__`). */
  REPLICA_INVALID: 'TALLY_REPLICA_INVALID',
  /** A state given to `fromState`/`merge` was malformed. The receiver is unchanged. */
  STATE_INVALID: 'TALLY_STATE_INVALID',
  /** A delta or version summary given to `applyDelta`/`deltaSince` was malformed. The receiver is unchanged. */
  DELTA_INVALID: 'TALLY_DELTA_INVALID',
  /**
   * A bounded counter refused a decrement or transfer: this replica holds fewer
   * rights than asked (the error is a {@link BoundExceededError} carrying
   * `localRights` and `value`). Nothing changed; ask a peer for rights.
   */
  BOUND_EXCEEDED: 'TALLY_BOUND_EXCEEDED',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Every error this library throws on bad input. Branch on `code`. */
export class TallyError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'TallyError'
    this.code = code
  }
}

/** True when `err` is a {@link TallyError} (optionally with the given code). */
export function isTallyError(err: unknown, code?: ErrorCode): err is TallyError {
  return err instanceof TallyError && (code === undefined || err.code === code)
}

/**
 * TALLY_BOUND_EXCEEDED: a bounded counter's decrement or transfer asked for
 * more than the local replica's rights. `localRights` is what this replica
 * may spend now, `value` the counter's value in its view (capped at 2^53−1;
 * the exact value is the counter's `bigValue`), `requested` the amount asked
 * for. `details` holds the three as one record, for edges that forward facts
 * with the code. The counter is unchanged.
 */
export class BoundExceededError extends TallyError {
  readonly localRights: number
  readonly value: number
  readonly requested: number
  readonly details: Readonly<{ localRights: number; value: number; requested: number }>

  constructor(message: string, facts: { localRights: number; value: number; requested: number }) {
    super(ErrorCodes.BOUND_EXCEEDED, message)
    this.name = 'BoundExceededError'
    this.localRights = facts.localRights
    this.value = facts.value
    this.requested = facts.requested
    this.details = Object.freeze({ ...facts })
  }
}
