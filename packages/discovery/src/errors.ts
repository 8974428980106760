// The discovery error codes. Routes and hooks throw DiscoveryError (code,
// message; no status); the HTTP edge maps codes to statuses with
// ERROR_STATUS, the one table of this package (listed in the README). Every
// error body is `{ error: { code, message } }`.

import { DomainError, SHARED_ERROR_STATUS } from '@tally/kit'

/** The discovery server's own codes → status. */
const DISCOVERY_ERROR_STATUS = {
  /** A token is configured and the request lacks `Authorization: Bearer <token>` or it does not match. */
  TALLY_UNAUTHORIZED: 401,
  /** Heartbeat or deregistration for an id the registry does not hold (expired, never registered, or the registry restarted). */
  TALLY_UNKNOWN_NODE: 404,
  /** The registry holds its maximum number of entries; a new id cannot be added until others expire. */
  TALLY_TABLE_FULL: 507,
} as const

const {
  TALLY_BAD_REQUEST,
  TALLY_NOT_FOUND,
  TALLY_REQUEST_TIMEOUT,
  TALLY_BODY_TOO_LARGE,
  TALLY_UNSUPPORTED_MEDIA_TYPE,
  TALLY_HEADERS_TOO_LARGE,
  TALLY_INTERNAL,
} = SHARED_ERROR_STATUS

/** Every code the discovery server can put in an error body → its HTTP status. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  TALLY_BAD_REQUEST,
  TALLY_NOT_FOUND,
  TALLY_REQUEST_TIMEOUT,
  TALLY_BODY_TOO_LARGE,
  TALLY_UNSUPPORTED_MEDIA_TYPE,
  TALLY_HEADERS_TOO_LARGE,
  TALLY_INTERNAL,
  ...DISCOVERY_ERROR_STATUS,
}

/** Every code the discovery server can put in an error body. */
export type DiscoveryErrorCode =
  | keyof typeof DISCOVERY_ERROR_STATUS
  | 'TALLY_BAD_REQUEST'
  | 'TALLY_NOT_FOUND'
  | 'TALLY_REQUEST_TIMEOUT'
  | 'TALLY_BODY_TOO_LARGE'
  | 'TALLY_UNSUPPORTED_MEDIA_TYPE'
  | 'TALLY_HEADERS_TOO_LARGE'
  | 'TALLY_INTERNAL'

/** A refusal of the discovery server: stable code, human message, no status. */
export class DiscoveryError extends DomainError<DiscoveryErrorCode> {
  constructor(code: DiscoveryErrorCode, message: string) {
    super(code, message)
    this.name = 'DiscoveryError'
  }
}

/** The discovery server's refusals with their fixed messages. Each returns a new DiscoveryError. */
export const Errors = {
  /** Body, params or JSON break a rule the schema cannot state. Nothing changed. */
  badRequest: (message: string) => new DiscoveryError('TALLY_BAD_REQUEST', message),
  unknownNode: (id: string) =>
    new DiscoveryError(
      'TALLY_UNKNOWN_NODE',
      `node ${JSON.stringify(id)} is not registered; register again with POST /register`,
    ),
  unauthorized: () =>
    new DiscoveryError(
      'TALLY_UNAUTHORIZED',
      'missing or wrong bearer token (send Authorization: Bearer <token>)',
    ),
  tableFull: (size: number) =>
    new DiscoveryError(
      'TALLY_TABLE_FULL',
      `registry is full (${size} entries); try again after entries expire`,
    ),
} as const
