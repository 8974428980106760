// The settings of tally-node and its typed config. Parsing, `--help` and the
// error format are @tally/kit's (one implementation for the three bins);
// defaults come from NODE_DEFAULTS. server.ts is the only reader of argv/env.

import {
  bool,
  ConfigError,
  type DnsTarget,
  defineSettings,
  dnsSettings,
  dnsTargetOr,
  type Env,
  host,
  hostPortList,
  int,
  isDnsTarget,
  helpText as kitHelpText,
  type LogLevel,
  logLevelSetting,
  matching,
  nonEmpty,
  oneOf,
  orKeyword,
  parseSettings,
  type RespPort,
  respSettings,
  type Setting,
  settingList,
  text,
  urlList,
} from '@tally/kit'
import { NODE_DEFAULTS } from './defaults.js'
import { parseYoungGeneration, type YoungGeneration } from './memory/young-generation.js'

export { ConfigError, type Setting }

/** Validated configuration of one tally-node process. Durations in milliseconds. */
export interface NodeConfig {
  id: string
  host: string
  advertise: string
  tcpPort: number
  httpPort: number
  /** Redis protocol (RESP) port; 0 = no RESP listener. */
  respPort: RespPort
  /** Password RESP clients must AUTH with; undefined = none. */
  respPassword: string | undefined
  peers: string[]
  gossipIntervalMs: number
  fanout: number
  eagerPush: boolean
  clusterKey: string | undefined
  clusterSize: number
  quorumTimeoutMs: number
  boundedTransferTimeoutMs: number
  dataDir: string
  durability: 'sync' | 'async'
  snapshotIntervalMs: number
  discovery: string[] | 'multicast' | undefined
  /** `--discovery dns:…` / `dns+srv:…`: the name followed for peers' gossip addresses (then `discovery` is undefined). */
  dnsDiscovery: DnsTarget | undefined
  dnsIntervalMs: number
  /** Resolver for DNS discovery as `Resolver.setServers` takes it; undefined = the system's. */
  dnsServer: string | undefined
  heartbeatIntervalMs: number
  discoveryToken: string | undefined
  idempotencyTtlMs: number
  idempotencyMaxKeys: number
  maxFrameBytes: number
  inboundBudgetBytes: number
  catchUpSliceEntries: number
  gcGraceMs: number
  /** How large V8's young generation may grow (src/memory/young-generation.ts). */
  youngGeneration: YoungGeneration
  logLevel: LogLevel
}

const D = NODE_DEFAULTS
const any = (raw: string): string => raw

/** The schema of tally-node, in `--help` order; keys are NodeConfig's. */
export const SCHEMA = defineSettings({
  id: {
    flag: 'id',
    description: 'node id, unique in the cluster (1-64 of A-Z a-z 0-9 . _ -); required',
    parse: matching(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of A-Z a-z 0-9 . _ -'),
    required: true,
  },
  host: {
    flag: 'host',
    description: 'bind address for TCP gossip and HTTP',
    parse: host(),
    default: D.host,
  },
  advertise: {
    flag: 'advertise',
    description: 'host other nodes use to reach this one (default: --host; required if --host is 0.0.0.0/::)',
    parse: any,
  },
  tcpPort: {
    flag: 'tcp-port',
    description: 'TCP gossip port (0 = any free port)',
    parse: int(0, 65535),
    default: String(D.tcpPort),
  },
  httpPort: {
    flag: 'http-port',
    description: 'HTTP API port (0 = any free port)',
    parse: int(0, 65535),
    default: String(D.httpPort),
  },
  ...respSettings(D.respPort),
  peers: {
    flag: 'peers',
    description: 'comma-separated gossip seeds host:port',
    parse: hostPortList(),
    default: '',
  },
  gossipIntervalMs: {
    flag: 'gossip-interval',
    description: 'anti-entropy round period, ms',
    parse: int(10, 600_000),
    default: String(D.gossipIntervalMs),
  },
  fanout: {
    flag: 'fanout',
    description: 'peers contacted per gossip round and per eager push',
    parse: int(1, 64),
    default: String(D.fanout),
  },
  eagerPush: {
    flag: 'eager-push',
    description: 'push local changes to peers at once (true|false)',
    parse: bool(),
    default: String(D.eagerPush),
  },
  clusterKey: {
    flag: 'cluster-key',
    description: 'shared secret; when set every gossip frame is HMAC-SHA256 authenticated',
    parse: text({ minLength: 8 }),
  },
  clusterSize: {
    flag: 'cluster-size',
    description: 'lower bound of the cluster size used for quorum writes',
    parse: int(1, 10_000),
    default: String(D.clusterSize),
  },
  quorumTimeoutMs: {
    flag: 'quorum-timeout',
    description: 'how long a quorum/all write waits for acks before 504, ms',
    parse: int(1, 600_000),
    default: String(D.quorumTimeoutMs),
  },
  boundedTransferTimeoutMs: {
    flag: 'bounded-transfer-timeout',
    description:
      'how long a bounded-counter decrement short of rights waits for peers to grant some before 409, ms',
    parse: int(1, 600_000),
    default: String(D.boundedTransferTimeoutMs),
  },
  dataDir: {
    flag: 'data-dir',
    description: 'data directory',
    parse: nonEmpty(),
    shownDefault: 'data/<id>',
  },
  durability: {
    flag: 'durability',
    description: 'sync (ack after fsync) | async',
    parse: oneOf(['sync', 'async']),
    default: D.durability,
  },
  snapshotIntervalMs: {
    flag: 'snapshot-interval',
    description: 'snapshot period, ms',
    parse: int(100, 86_400_000),
    default: String(D.snapshotIntervalMs),
  },
  discovery: {
    flag: 'discovery',
    description:
      'discovery service URL[,URL], "multicast", dns:NAME:GOSSIP_PORT (A/AAAA) or dns+srv:_service._proto.NAME',
    parse: dnsTargetOr(orKeyword('multicast', urlList())),
  },
  ...dnsSettings(),
  heartbeatIntervalMs: {
    flag: 'heartbeat-interval',
    description: 'discovery heartbeat period, ms',
    parse: int(50, 600_000),
    default: String(D.heartbeatIntervalMs),
  },
  discoveryToken: {
    flag: 'discovery-token',
    description: 'bearer token for the discovery service',
    parse: text(),
  },
  idempotencyTtlMs: {
    flag: 'idempotency-ttl',
    description: 'how long an Idempotency-Key is remembered, ms',
    parse: int(1000, 30 * 86_400_000),
    default: String(D.idempotencyTtlMs),
  },
  idempotencyMaxKeys: {
    flag: 'idempotency-max-keys',
    description: 'most key records remembered, own and learnt (oldest dropped first)',
    parse: int(1, 100_000_000),
    default: String(D.idempotencyMaxKeys),
  },
  maxFrameBytes: {
    flag: 'max-frame-bytes',
    description: 'largest gossip frame accepted, bytes',
    parse: int(1024, 1024 * 1024 * 1024),
    default: String(D.maxFrameBytes),
  },
  inboundBudgetBytes: {
    flag: 'inbound-budget-bytes',
    description: 'most bytes held in incomplete gossip frames, all connections together',
    parse: int(65_536, 16 * 1024 * 1024 * 1024),
    default: String(D.inboundBudgetBytes),
  },
  catchUpSliceEntries: {
    flag: 'catch-up-slice-entries',
    description: 'most counter entries in one anti-entropy answer; a bigger difference goes in slices',
    parse: int(1_000, 1_000_000),
    default: String(D.catchUpSliceEntries),
  },
  gcGraceMs: {
    flag: 'gc-grace-ms',
    description:
      'a deleted or expired counter every member confirmed is garbage-collected this long after, ms (bounds messages still in flight)',
    parse: int(1_000, 86_400_000),
    default: String(D.gcGraceMs),
  },
  youngGeneration: {
    flag: 'young-generation',
    description:
      "how large V8's young generation (its nursery of new objects) may grow: a cap in MiB, 8|16 (grows up to it while the node is busy, never while it recovers) | small (keeps the ~4 MiB it has when the node starts: least memory, more CPU per write under many connections) | v8 (V8's own growth, up to 32 MiB); a launch flag such as --max-semi-space-size wins",
    parse: parseYoungGeneration,
    default: String(D.youngGeneration),
  },
  logLevel: logLevelSetting(D.logLevel),
})

/** Every setting tally-node reads, in `--help` order. */
export const SETTINGS: ReadonlyArray<Setting> = settingList(SCHEMA)

/** `--help` text of tally-node (the common format). Pure. */
export function helpText(): string {
  return kitHelpText('tally-node --id <id> [options]', SCHEMA)
}

/**
 * Parses flags (`argv` without node and script) over `env`. Pure: returns the
 * validated config or throws {@link ConfigError} naming the bad setting.
 * `--help` is handled by the caller (kit's readConfigOrExit).
 */
export function parseConfig(argv: readonly string[], env: Env): NodeConfig {
  const s = parseSettings(SCHEMA, argv, env)
  const advertise = s.advertise ?? s.host
  if (advertise === '0.0.0.0' || advertise === '::' || advertise === '') {
    throw new ConfigError(
      'advertise',
      `cannot advertise ${JSON.stringify(advertise)}; set --advertise to a reachable host`,
    )
  }
  const dnsDiscovery = isDnsTarget(s.discovery) ? s.discovery : undefined
  const listed = dnsDiscovery === undefined ? (s.discovery as string[] | 'multicast' | undefined) : undefined
  const discovery = listed === undefined || listed.length === 0 ? undefined : listed
  return { ...s, advertise, dataDir: s.dataDir ?? `data/${s.id}`, discovery, dnsDiscovery }
}
