/** @tally/kit/resp: the Redis protocol (RESP2/RESP3) as both servers speak it: parser, replies, errors, argument rules. */
export { globMatch, parseInteger } from './args.js'
export {
  arityOk,
  type CallContext,
  type CommandSpec,
  type CommandTable,
  commandDocsOf,
  commandInfoOf,
  type Handler,
} from './command-table.js'
export {
  type ConnectionContext,
  connectionCommands,
  type InfoSection,
  passwordMatches,
  REDIS_COMPAT_VERSION,
  renderInfo,
} from './connection-commands.js'
export {
  type CounterBackend,
  type CounterWrite,
  counterCommands,
  type DeleteOptions,
} from './counter-commands.js'
export {
  RESP_ERROR_TABLE,
  RedisErrors,
  tallyErrorReply,
  unknownCommand,
  unknownSubcommand,
  wrongArity,
} from './errors.js'
export { type LimitBackend, limitCommands, limitReply } from './limit-commands.js'
export {
  defaultErrorReply,
  RespListener,
  type RespListenerOptions,
  type RespLog,
  type RespStats,
} from './listener.js'
export { DEFAULT_RESP_LIMITS, type RespLimits, RespParser, RespProtocolError, splitInline } from './parser.js'
export { Pending, type PendingListener } from './pending.js'
export {
  array,
  bulk,
  encode,
  error,
  int,
  map,
  NIL,
  OK,
  oneLine,
  type Proto,
  type Reply,
  set,
  simple,
  verbatim,
} from './reply.js'
export { clientInfoLine, newSession, type Session } from './session.js'
