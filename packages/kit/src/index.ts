/** @tally/kit: what the three Tally servers share. Internal; never published. */

export {
  createFastify,
  type ErrorMapping,
  errorHandler,
  type FastifyBaseOptions,
  sendHttpError,
  toHttpError,
} from './fastify-base.js'
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
export {
  countRequests,
  createMetricsRegistry,
  type MetricsRegistry,
  metricsRoute,
  readCounter,
  readLabelledCounter,
} from './metrics.js'
export {
  CONSISTENCY_LEVELS,
  type Consistency,
  DEFAULT_QUORUM_TIMEOUT_MS,
  IDEMPOTENCY_KEY_PATTERN,
  isConsistency,
  isIdempotencyKey,
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
