/** @tally/kit/resp: the Redis protocol (RESP2/RESP3) as both servers speak it: parser, replies, errors, argument rules. */
export { globMatch, parseInteger } from './args.js'
export {
  RESP_ERROR_TABLE,
  RedisErrors,
  tallyErrorReply,
  unknownCommand,
  unknownSubcommand,
  wrongArity,
} from './errors.js'
export { DEFAULT_RESP_LIMITS, type RespLimits, RespParser, RespProtocolError, splitInline } from './parser.js'
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
