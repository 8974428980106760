// TALLY.LIMIT's view of the gateway: the same forwarding with failover as
// `POST /limits/:name/hit` (one idempotency key per hit, reused on every node
// tried).

import type { LimitBackend } from '@tally/kit/resp'
import type { Gateway } from '../gateway.js'
import { answerOf, forwardHit } from '../limits.js'
import { readName } from '../validate.js'

/** A {@link LimitBackend} forwarding to the nodes behind `gw`. Throws TALLY_NAME_INVALID for a bad name. */
export function gatewayLimitBackend(gw: Gateway): LimitBackend {
  return {
    async limitHit(name, hit, key) {
      return answerOf(await forwardHit(gw, readName(name), hit, key))
    },
  }
}
