// Error replies: Redis' own words where Redis has the error, and one table
// from Tally's stable `TALLY_…` codes to RESP errors for the rest. Nodes and
// the gateway both use it (the gateway relays nodes' codes unchanged).

import { error, type Reply } from './reply.js'

/** Redis' exact error texts, for clients that match on them. */
export const RedisErrors = {
  notInteger: 'ERR value is not an integer or out of range',
  overflow: 'ERR increment or decrement would overflow',
  syntax: 'ERR syntax error',
  noAuth: 'NOAUTH Authentication required.',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
  noPassword:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  noProto: 'NOPROTO unsupported protocol version',
  dbRange: 'ERR DB index is out of range',
} as const

/** `-ERR wrong number of arguments for '<cmd>' command` (cmd lowercased, as Redis names it). */
export function wrongArity(cmd: string): Reply {
  return error(`ERR wrong number of arguments for '${cmd.toLowerCase()}' command`)
}

/** Redis 7's unknown-command error, quoting (at most 128 bytes of) the command and its first arguments. */
export function unknownCommand(cmd: string, args: readonly string[]): Reply {
  const quoted = args
    .slice(0, 16)
    .map((a) => `'${a.slice(0, 128)}' `)
    .join('')
  return error(`ERR unknown command '${cmd.slice(0, 128)}', with args beginning with: ${quoted}`)
}

/** `-ERR unknown subcommand '<sub>'. Try <CMD> HELP.` */
export function unknownSubcommand(cmd: string, sub: string): Reply {
  return error(`ERR unknown subcommand '${sub.slice(0, 128)}'. Try ${cmd.toUpperCase()} HELP.`)
}

/**
 * How a Tally error code is told to a RESP client:
 * - `redis`: Redis has the error; its exact text is sent.
 * - `TRYAGAIN`: nothing was applied; the same command may be sent again (to another node).
 * - `TALLY`: Tally's own refusal, or an outcome the client must not blindly retry.
 */
interface Mapping {
  readonly prefix: 'redis' | 'TRYAGAIN' | 'TALLY'
  readonly text?: string
}

/** Tally error codes with a fixed RESP rendering; any other `TALLY_…` code gets the `TALLY` prefix. */
export const RESP_ERROR_TABLE: Readonly<Record<string, Mapping>> = {
  TALLY_OVERFLOW: { prefix: 'redis', text: RedisErrors.overflow },
  TALLY_AMOUNT_INVALID: { prefix: 'redis', text: RedisErrors.notInteger },
  TALLY_STORE_FAILED: { prefix: 'TRYAGAIN' },
  TALLY_SHUTTING_DOWN: { prefix: 'TRYAGAIN' },
  TALLY_NO_NODES: { prefix: 'TRYAGAIN' },
}

/**
 * The error reply for a Tally error with stable `code` (`TALLY_…`) and
 * `message`: `-ERR …` in Redis' words where Redis has the error, else
 * `-TRYAGAIN <code> <message>` or `-TALLY <code> <message>` (see
 * {@link RESP_ERROR_TABLE}). Codes not starting with `TALLY_` become
 * `-TALLY TALLY_INTERNAL internal error` (the caller logs those).
 */
export function tallyErrorReply(code: string, message: string): Reply {
  if (!code.startsWith('TALLY_')) return error('TALLY TALLY_INTERNAL internal error')
  const m = Object.hasOwn(RESP_ERROR_TABLE, code) ? RESP_ERROR_TABLE[code] : undefined
  if (m?.prefix === 'redis' && m.text !== undefined) return error(m.text)
  return error(`${m?.prefix ?? 'TALLY'} ${code} ${message}`)
}
