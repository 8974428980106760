// TALLY.LIMIT, the rate-limit command: one hit against a sliding-window
// limit, answered by whichever server receives it (a node decides on its own
// view; the gateway forwards with failover). Argument rules and the reply
// shape live here; the decision is the server's {@link LimitBackend}.

import { DomainError } from '../http-errors.js'
import { checkLimitHit, type LimitAnswer, type LimitHit } from '../limit-rules.js'
import { isIdempotencyKey } from '../rules.js'
import { parseInteger } from './args.js'
import type { CommandSpec } from './command-table.js'
import { RedisErrors } from './errors.js'
import { array, error, int, type Reply } from './reply.js'

/** What TALLY.LIMIT needs from a server. Methods may throw or reject with errors carrying a `TALLY_…` code. */
export interface LimitBackend {
  /**
   * Counts one checked hit against limit `name` when it fits; resolves with
   * the decision (an allowed hit once durable). `key`: the client's
   * idempotency key (a repeat answers as the first time and counts nothing).
   */
  limitHit(name: string, hit: LimitHit, key: string | undefined): Promise<LimitAnswer>
}

// A number argument as a safe integer, or the raw text when it is not one (the rules then name it).
function num(s: string): number | string {
  const n = parseInteger(s)
  return n === undefined || n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)
    ? s
    : Number(n)
}

/** The reply of a decision: `[allowed 0/1, limit, remaining, resetMs]`. */
export function limitReply(a: LimitAnswer): Reply {
  return array([int(a.allowed ? 1 : 0), int(a.limit), int(a.remaining), int(a.resetMs)])
}

/** TALLY.LIMIT key limit windowMs [AMOUNT n] [KEY idempotency-key], ready for a RespListener. */
export function limitCommands(b: LimitBackend): CommandSpec[] {
  return [
    {
      name: 'tally.limit',
      arity: -4,
      flags: ['write', 'denyoom', 'fast'],
      keys: [1, 1, 1],
      group: 'tally',
      summary:
        'TALLY.LIMIT key limit windowMs [AMOUNT n] [KEY idempotency-key]: one hit against a sliding-window rate limit; replies [allowed 0/1, limit, remaining, resetMs]',
      handler: async (args) => {
        const name = args[1] as string
        let amount: number | string | undefined
        let key: string | undefined
        for (let i = 4; i < args.length; i += 2) {
          const opt = (args[i] as string).toLowerCase()
          const v = args[i + 1]
          if (v === undefined) return error(RedisErrors.syntax)
          if (opt === 'amount') amount = num(v)
          else if (opt === 'key') {
            if (!isIdempotencyKey(v))
              throw new DomainError(
                'TALLY_IDEMPOTENCY_KEY_INVALID',
                'KEY must be 1-128 printable ASCII characters',
              )
            key = v
          } else return error(RedisErrors.syntax)
        }
        const hit = checkLimitHit(num(args[2] as string), num(args[3] as string), amount)
        return limitReply(await b.limitHit(name, hit, key))
      },
    },
  ]
}
