/** @tally/kit: what the three Tally servers share. Internal; never published. */

export {
  type ClientErrorLimits,
  clientErrorAnswer,
  clientErrorHandler,
  missingHost,
  type ParserError,
  rawErrorResponse,
} from './client-errors.js'
export {
  type DnsAnswer,
  diffEndpoints,
  type EndpointDiff,
  endpointsOf,
  joinHostPort,
} from './dns/dns-answer.js'
export { dnsServerSetting, dnsSettings, dnsTargetOr, isDnsTarget } from './dns/dns-settings.js'
export {
  DEFAULT_DNS_INTERVAL_MS,
  DNS_SETTING_INVALID,
  DnsSettingError,
  type DnsTarget,
  isDnsDiscovery,
  isDnsName,
  parseDnsServer,
  parseDnsTarget,
} from './dns/dns-target.js'
export {
  type DnsLog,
  type DnsLookup,
  type DnsPoll,
  DnsWatcher,
  type DnsWatcherOptions,
  resolverLookup,
  retryDelay,
  shouldWarn,
} from './dns/dns-watcher.js'
export {
  COMPILE_AFTER_LISTEN_MS,
  createFastify,
  DEFAULT_SERVER_TIMEOUTS,
  type ErrorMapping,
  errorHandler,
  type FastifyBaseOptions,
  routeSchemas,
  sendHttpError,
  toHttpError,
} from './fastify-base.js'
export { handOverWith, isHandedOver, throwHandedOver } from './handed-over.js'
export { hash32 } from './hash32.js'
export {
  isPlainSegment,
  type PlainWrite,
  plainWrite,
  plainWriteLength,
  type RequestHandler,
  takeRequests,
} from './hot-server.js'
export {
  DomainError,
  type ErrorExtra,
  errorFactory,
  HttpError,
  httpError,
  MESSAGES,
  SHARED_ERROR_STATUS,
  type SharedErrorCode,
} from './http-errors.js'
export { findDuplicateKey } from './json-keys.js'
export type { RouteSchema } from './lazy-compilers.js'
export {
  checkLimitHit,
  LIMIT_ERROR_CODES,
  type LimitAnswer,
  type LimitHit,
  MAX_LIMIT,
  MAX_WINDOW_MS,
  readLimitBody,
} from './limit-rules.js'
export { type ChildLogger, logListening } from './listening-line.js'
export {
  countRequests,
  createMetricsRegistry,
  type MetricsRegistry,
  metricsRoute,
  type RequestCounts,
  readCounter,
  readLabelledCounter,
} from './metrics.js'
export { plainAmount } from './plain-amount.js'
export { type HistogramSeries, PlainHistogram, registerPlainHistogram } from './plain-histogram.js'
export {
  MAX_HEAD,
  MAX_IN_FLIGHT,
  parseHead,
  plainRawWriteLength,
  type RawAnswer,
  type RawFront,
  type RawFrontOptions,
  type RawHead,
  type RawOutcome,
  type RawRoutes,
  serveRaw,
  writeAnswer,
} from './raw-front.js'
export { readBody } from './read-body.js'
export { replayed } from './replayed-request.js'
export {
  CONSISTENCY_LEVELS,
  type Consistency,
  DEFAULT_QUORUM_TIMEOUT_MS,
  IDEMPOTENCY_KEY_PATTERN,
  isConsistency,
  isHeaderRepeated,
  isIdempotencyKey,
  isTtlMs,
  MAX_TTL_MS,
  requiredReplicas,
} from './rules.js'
export {
  bool,
  host,
  hostPortList,
  int,
  isHostPort,
  LOG_LEVELS,
  type LogLevel,
  logLevelSetting,
  matching,
  nonEmpty,
  oneOf,
  orKeyword,
  type RespPort,
  respBindPort,
  respPort,
  respSettings,
  text,
  toOrigin,
  urlList,
} from './setting-parsers.js'
export {
  type CliIo,
  ConfigError,
  defineSettings,
  type Env,
  envName,
  helpText,
  InvalidValue,
  type Parser,
  parseSettings,
  readConfigOrExit,
  type Setting,
  type SettingSpec,
  type SettingsSchema,
  type SettingsValues,
  settingList,
  wantsHelp,
} from './settings.js'
