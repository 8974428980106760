/**
 * @tally/discovery: the node registry service (bin `tally-discovery`).
 * The library surface is for tests and embedding; the bin is `server.ts`.
 */
export { type AppOptions, buildApp, DEFAULT_BODY_LIMIT, DEFAULT_MAX_PEERS } from './app.js'
export { bearerMatches } from './auth.js'
export {
  ConfigError,
  type DiscoveryConfig,
  helpText,
  type LogLevel,
  parseConfig,
  SETTINGS,
  type Setting,
} from './config.js'
export { DiscoveryError, type DiscoveryErrorCode, ERROR_STATUS, Errors } from './errors.js'
export {
  type Clock,
  expire,
  isAlive,
  monotonicClock,
  type PeerEntry,
  type PeerView,
  type RegisterOutcome,
  Registry,
} from './registry.js'
export { checkHttpUrl, isValidHostName, isValidNodeId, NODE_ID_PATTERN, parseHostPort } from './validate.js'
