/** @tally/kit: what the three Tally servers share. Internal; never published. */

export {
  type DnsAnswer,
  diffEndpoints,
  type EndpointDiff,
  endpointsOf,
  joinHostPort,
} from './dns/dns-answer.js'
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
  CONSISTENCY_LEVELS,
  type Consistency,
  DEFAULT_QUORUM_TIMEOUT_MS,
  IDEMPOTENCY_KEY_PATTERN,
  isConsistency,
  isIdempotencyKey,
  requiredReplicas,
} from './rules.js'
