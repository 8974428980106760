// The request headers of keyed writes: `Idempotency-Key` and `Tally-Attempt`.

import { isHeaderRepeated, isIdempotencyKey } from '@tally/kit'
import { NodeError, NodeErrorCodes } from '../errors.js'
import { MAX_ATTEMPT } from '../wire/messages.js'

/**
 * The `Idempotency-Key` header: undefined when absent, else the key
 * (@tally/kit's rule: 1–128 printable ASCII). `rawHeaders` (the request's
 * `rawHeaders`) tells whether it was sent more than once (Node joins the
 * copies with ", "). Throws TALLY_IDEMPOTENCY_KEY_INVALID, also when sent twice.
 */
export function readIdempotencyKey(
  raw: string | string[] | undefined,
  rawHeaders: readonly string[] = [],
): string | undefined {
  if (raw === undefined) return undefined
  if (Array.isArray(raw) || isHeaderRepeated(rawHeaders, 'idempotency-key')) {
    throw new NodeError(
      NodeErrorCodes.IDEMPOTENCY_KEY_INVALID,
      'Idempotency-Key was sent twice; send it once',
    )
  }
  if (!isIdempotencyKey(raw)) {
    throw new NodeError(
      NodeErrorCodes.IDEMPOTENCY_KEY_INVALID,
      'Idempotency-Key must be 1-128 printable ASCII characters',
    )
  }
  return raw
}

/**
 * The `Tally-Attempt` header (which try of a keyed write this is: the
 * gateway sends 1 to the first node, 2 to the next…): an integer 1–100,
 * default 1. `rawHeaders` as for {@link readIdempotencyKey}. Throws
 * TALLY_ATTEMPT_INVALID, also when sent twice.
 */
export function readAttempt(raw: string | string[] | undefined, rawHeaders: readonly string[] = []): number {
  if (raw === undefined) return 1
  if (Array.isArray(raw) || isHeaderRepeated(rawHeaders, 'tally-attempt')) {
    throw new NodeError(NodeErrorCodes.ATTEMPT_INVALID, 'Tally-Attempt was sent twice; send it once')
  }
  const n = typeof raw === 'string' && /^[1-9][0-9]{0,2}$/.test(raw) ? Number(raw) : Number.NaN
  if (!(n <= MAX_ATTEMPT)) {
    throw new NodeError(NodeErrorCodes.ATTEMPT_INVALID, 'Tally-Attempt must be an integer from 1 to 100')
  }
  return n
}
