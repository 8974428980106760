// The settings of tally-gateway and its typed config. Parsing, `--help` and
// the error format are @tally/kit's (one implementation for the three bins).
// server.ts is the only reader of argv/env.

import {
  ConfigError,
  DEFAULT_QUORUM_TIMEOUT_MS,
  type DnsTarget,
  defineSettings,
  dnsSettings,
  dnsTargetOr,
  type Env,
  host,
  int,
  isDnsTarget,
  helpText as kitHelpText,
  type LogLevel,
  logLevelSetting,
  oneOf,
  parseSettings,
  type RespPort,
  respSettings,
  type Setting,
  settingList,
  text,
  urlList,
} from '@tally/kit'
import { STRATEGY_NAMES, type StrategyName } from './strategies.js'

export { ConfigError, type Setting }

/** Validated configuration of one tally-gateway process. Durations in milliseconds. */
export interface GatewayConfig {
  host: string
  port: number
  /** Redis protocol (RESP) port; 0 = no RESP listener. */
  respPort: RespPort
  /** Password RESP clients must AUTH with; undefined = none. */
  respPassword: string | undefined
  /** Discovery service base URLs (origin only), polled for `GET /peers`. */
  discovery: string[]
  /** `--discovery dns:…` / `dns+srv:…`: the name followed for the nodes' HTTP endpoints (then `discovery` is empty). */
  dnsDiscovery: DnsTarget | undefined
  dnsIntervalMs: number
  /** Resolver for DNS discovery as `Resolver.setServers` takes it; undefined = the system's. */
  dnsServer: string | undefined
  /** Static node list (origins). */
  nodes: string[]
  strategy: StrategyName
  requestTimeoutMs: number
  healthIntervalMs: number
  discoveryIntervalMs: number
  maxAttempts: number
  deadlineMs: number
  quorumTimeoutMs: number
  discoveryToken: string | undefined
  /** How long a node no longer known stays listed as down in /nodes and the dashboard. */
  forgetAfterMs: number
  logLevel: LogLevel
}

/** The schema of tally-gateway, in `--help` order; keys are GatewayConfig's. */
export const SCHEMA = defineSettings({
  host: { flag: 'host', description: 'bind address of the HTTP server', parse: host(), default: '127.0.0.1' },
  port: { flag: 'port', description: 'HTTP port (0 = any free port)', parse: int(0, 65535), default: '8080' },
  ...respSettings(6379),
  discovery: {
    flag: 'discovery',
    description:
      "discovery service URL[,URL] (its GET /peers list is polled), dns:NAME:NODE_HTTP_PORT (A/AAAA) or dns+srv:_service._proto.NAME (the nodes' HTTP port)",
    parse: dnsTargetOr(urlList({ origins: true })),
  },
  ...dnsSettings(),
  nodes: {
    flag: 'nodes',
    description: 'static node list http://host:port[,...] (ids learnt from their /health)',
    parse: urlList({ origins: true }),
  },
  strategy: {
    flag: 'strategy',
    description: STRATEGY_NAMES.join(' | '),
    parse: oneOf(STRATEGY_NAMES),
    default: 'round-robin',
  },
  requestTimeoutMs: {
    flag: 'request-timeout',
    description: 'timeout of one attempt on one node, ms',
    parse: int(10, 600_000),
    default: '2000',
  },
  healthIntervalMs: {
    flag: 'health-interval',
    description: 'active health check period, ms',
    parse: int(10, 600_000),
    default: '1000',
  },
  discoveryIntervalMs: {
    flag: 'discovery-interval',
    description: 'discovery poll period, ms',
    parse: int(10, 600_000),
    default: '2000',
  },
  maxAttempts: {
    flag: 'max-attempts',
    description: 'most nodes one request is tried on (failover)',
    parse: int(1, 100),
    default: '3',
  },
  deadlineMs: {
    flag: 'deadline',
    description: 'overall time budget of one request across all attempts, ms',
    parse: int(10, 3_600_000),
    default: '5000',
  },
  quorumTimeoutMs: {
    flag: 'quorum-timeout',
    description:
      "the nodes' --quorum-timeout, ms: a quorum/all write attempt may take this much longer, so the node's 504 arrives",
    parse: int(1, 600_000),
    default: String(DEFAULT_QUORUM_TIMEOUT_MS),
  },
  discoveryToken: {
    flag: 'discovery-token',
    description: 'bearer token for the discovery service',
    parse: text(),
  },
  forgetAfterMs: {
    flag: 'forget-after',
    description: 'how long a node no longer known stays listed (as down) in /nodes and the dashboard, ms',
    parse: int(0, 30 * 24 * 3_600_000),
    default: '3600000',
  },
  logLevel: logLevelSetting(),
})

/** Every setting tally-gateway reads, in `--help` order. */
export const SETTINGS: ReadonlyArray<Setting> = settingList(SCHEMA)

/** `--help` text of tally-gateway (the common format). Pure. */
export function helpText(): string {
  return kitHelpText('tally-gateway [--nodes URL,...] [--discovery URL,...] [options]', SCHEMA)
}

/**
 * Parses flags (`argv` without node and script) over `env`. Pure: returns the
 * validated config or throws {@link ConfigError} naming the bad setting.
 * `--help` is handled by the caller (kit's readConfigOrExit). Neither
 * `--nodes` nor `--discovery` is required (the gateway then answers 503
 * TALLY_NO_NODES).
 */
export function parseConfig(argv: readonly string[], env: Env): GatewayConfig {
  const config = parseSettings(SCHEMA, argv, env)
  if (config.deadlineMs < config.requestTimeoutMs) {
    throw new ConfigError(
      'deadline',
      `must be at least --request-timeout (${config.requestTimeoutMs}), got ${config.deadlineMs}`,
    )
  }
  const { discovery, ...rest } = config
  const dnsDiscovery = isDnsTarget(discovery) ? discovery : undefined
  return {
    ...rest,
    discovery: dnsDiscovery === undefined ? ((discovery as string[] | undefined) ?? []) : [],
    dnsDiscovery,
    nodes: config.nodes ?? [],
  }
}
