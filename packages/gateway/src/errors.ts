// The gateway's error codes. Cores (validate, forward, gateway, registry)
// throw GatewayError (code, message; no status); the HTTP edge maps codes to
// statuses with ERROR_STATUS, the one table of this package (listed in the
// README). Every error body is `{ error: { code, message } }`. Errors a node
// returns (4xx, 504 TALLY_QUORUM_TIMEOUT, 503 TALLY_QUORUM_UNAVAILABLE) are relayed as-is with
// RelayedError, so the node's codes reach the client unchanged.

import { DomainError, SHARED_ERROR_STATUS } from '@tally/kit'

/** The gateway's own codes → status. */
const GATEWAY_ERROR_STATUS = {
  /** A tenant of `/items` is not 1–122 of `[A-Za-z0-9._:-]` (so that `items:<tenant>` is a valid name). */
  TALLY_TENANT_INVALID: 400,
  /** A hit's `limit` is missing or not an integer from 1 to 10^9 (the rule of @tally/kit, as on the nodes). */
  TALLY_LIMIT_INVALID: 400,
  /** A hit's `windowMs` is missing or not an integer from 1 to 86 400 000. */
  TALLY_WINDOW_INVALID: 400,
  /** `?consistency=` is not one of one|quorum|all. */
  TALLY_CONSISTENCY_INVALID: 400,
  /** `ttlMs` of `PUT /counters/:name/ttl` is not a whole number of ms from 1 to 100 years (the nodes' rule). */
  TALLY_TTL_INVALID: 400,
  /** Every attempt failed (connection errors, 5xx, bad answers) before the deadline. */
  TALLY_UPSTREAM_FAILED: 502,
  /** The gateway knows no node it could send the request to (none configured, or all ejected and failing). */
  TALLY_NO_NODES: 503,
  /** A consistency read could not gather states from enough nodes. The message says how many answered. */
  TALLY_QUORUM_UNAVAILABLE: 503,
  /** A bounded decrement no node could cover (relayed from the last node tried, with its details). */
  TALLY_BOUND_EXCEEDED: 409,
  /** The overall deadline passed before any node answered. */
  TALLY_UPSTREAM_TIMEOUT: 504,
} as const

/**
 * Every code the gateway itself answers → its HTTP status: the shared codes
 * of @tally/kit (TALLY_VALUE_UNSAFE is 422: a merged value beyond 2^53−1
 * cannot be sent as an exact JSON number) and the gateway's own. Codes
 * relayed from a node keep the node's status and are not listed here.
 */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  ...SHARED_ERROR_STATUS,
  ...GATEWAY_ERROR_STATUS,
}

/** A code the gateway's cores throw: its own or a shared one. */
export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_STATUS | keyof typeof SHARED_ERROR_STATUS

/** A refusal of the gateway's core: stable code, human message, no status. */
export class GatewayError extends DomainError<GatewayErrorCode> {
  constructor(code: GatewayErrorCode, message: string) {
    super(code, message)
    this.name = 'GatewayError'
  }
}

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
