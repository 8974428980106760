// The one configuration schema of tally-node: flags and env variables, parsed
// and validated in a pure function so server.ts is the only place that reads
// process.argv / process.env.

/** One documented setting: `--flag` on the command line, `env` in the environment. */
export interface Setting {
  /** Flag name without dashes, e.g. `http-port`. */
  flag: string
  /** Environment variable, e.g. `TALLY_HTTP_PORT`. */
  env: string
  description: string
  /** Default as shown in `--help`; absent when the setting is optional or required. */
  default?: string
}

/** Thrown by {@link parseConfig} for a bad or missing setting; `setting` names it. */
export class ConfigError extends Error {
  readonly setting: string
  constructor(setting: string, message: string) {
    super(`invalid setting --${setting}: ${message}`)
    this.name = 'ConfigError'
    this.setting = setting
  }
}

/** Validated configuration of one tally-node process. Durations in milliseconds. */
export interface NodeConfig {
  id: string
  host: string
  advertise: string
  tcpPort: number
  httpPort: number
  peers: string[]
  gossipIntervalMs: number
  fanout: number
  eagerPush: boolean
  clusterKey: string | undefined
  clusterSize: number
  quorumTimeoutMs: number
  dataDir: string
  durability: 'sync' | 'async'
  snapshotIntervalMs: number
  discovery: string[] | 'multicast' | undefined
  heartbeatIntervalMs: number
  discoveryToken: string | undefined
  idempotencyTtlMs: number
  idempotencyMaxKeys: number
  maxFrameBytes: number
  inboundBudgetBytes: number
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}

const envName = (flag: string): string => `TALLY_${flag.toUpperCase().replaceAll('-', '_')}`

const S = (flag: string, description: string, def?: string): Setting =>
  def === undefined
    ? { flag, env: envName(flag), description }
    : { flag, env: envName(flag), description, default: def }

/** Every setting tally-node reads, in `--help` order. */
export const SETTINGS: ReadonlyArray<Setting> = [
  S('id', 'node id, unique in the cluster (1-64 of A-Z a-z 0-9 . _ -); required'),
  S('host', 'bind address for TCP gossip and HTTP', '127.0.0.1'),
  S(
    'advertise',
    'host other nodes use to reach this one (default: --host; required if --host is 0.0.0.0/::)',
  ),
  S('tcp-port', 'TCP gossip port (0 = any free port)', '9000'),
  S('http-port', 'HTTP API port (0 = any free port)', '8010'),
  S('peers', 'comma-separated gossip seeds host:port', ''),
  S('gossip-interval', 'anti-entropy round period, ms', '200'),
  S('fanout', 'peers contacted per gossip round and per eager push', '3'),
  S('eager-push', 'push local changes to peers at once (true|false)', 'true'),
  S('cluster-key', 'shared secret; when set every gossip frame is HMAC-SHA256 authenticated'),
  S('cluster-size', 'lower bound of the cluster size used for quorum writes', '1'),
  S('quorum-timeout', 'how long a quorum/all write waits for acks before 504, ms', '2000'),
  S('data-dir', 'data directory', 'data/<id>'),
  S('durability', 'sync (ack after fsync) | async', 'sync'),
  S('snapshot-interval', 'snapshot period, ms', '60000'),
  S('discovery', 'discovery service URL[,URL] or "multicast"'),
  S('heartbeat-interval', 'discovery heartbeat period, ms', '1000'),
  S('discovery-token', 'bearer token for the discovery service'),
  S('idempotency-ttl', 'how long an Idempotency-Key is remembered, ms', '86400000'),
  S('idempotency-max-keys', 'most idempotency keys remembered (oldest dropped first)', '1000000'),
  S('max-frame-bytes', 'largest gossip frame accepted, bytes', '67108864'),
  S(
    'inbound-budget-bytes',
    'most bytes held in incomplete gossip frames, all connections together',
    '67108864',
  ),
  S('log-level', 'debug | info | warn | error', 'info'),
]

const KNOWN = new Set(SETTINGS.map((s) => s.flag))

/** `--help` text generated from {@link SETTINGS}. Pure. */
export function helpText(): string {
  const lines = ['Usage: tally-node --id <id> [options]', '', 'Options (flags win over environment):']
  for (const s of SETTINGS) {
    const def = s.default === undefined ? '' : ` (default: ${s.default === '' ? 'none' : s.default})`
    lines.push(`  --${s.flag.padEnd(22)} ${s.env.padEnd(28)} ${s.description}${def}`)
  }
  lines.push('  --help                   print this text and exit')
  return lines.join('\n')
}

/** Splits argv into `flag → value`. Accepts `--flag value` and `--flag=value`. Throws ConfigError. */
function readArgv(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--'))
      throw new ConfigError(arg, 'unexpected argument (flags look like --name value)')
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!KNOWN.has(flag)) throw new ConfigError(flag, 'unknown flag (see --help)')
    let value: string
    if (eq !== -1) value = arg.slice(eq + 1)
    else {
      const next = argv[i + 1]
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new ConfigError(flag, 'missing value')
      }
      value = next
      i++
    }
    out.set(flag, value)
  }
  return out
}

function int(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(flag, `expected an integer, got ${JSON.stringify(raw)}`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(flag, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function oneOf<T extends string>(flag: string, raw: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(flag, `must be one of ${values.join('|')}, got ${JSON.stringify(raw)}`)
  }
  return raw as T
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/
const ID = /^[A-Za-z0-9._-]{1,64}$/

/** True when `raw` is a `host:port` gossip address with a port in 1..65535. */
export function isHostPort(raw: string): boolean {
  if (!HOST_PORT.test(raw)) return false
  const port = Number(raw.slice(raw.lastIndexOf(':') + 1))
  return port >= 1 && port <= 65535
}

/**
 * Parses flags (`argv` without node and script) over `env`. Pure: returns the
 * validated config or throws {@link ConfigError} naming the bad setting.
 * `--help` is handled by the caller before this is called.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): NodeConfig {
  const flags = readArgv(argv)
  const get = (flag: string): string | undefined => {
    const v = flags.get(flag) ?? env[envName(flag)]
    return v === undefined ? undefined : v
  }
  const def = (flag: string): string => SETTINGS.find((s) => s.flag === flag)?.default ?? ''
  const val = (flag: string): string => get(flag) ?? def(flag)

  const id = get('id')
  if (id === undefined || id === '') throw new ConfigError('id', 'required (or set TALLY_ID)')
  if (!ID.test(id))
    throw new ConfigError('id', `must be 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(id)}`)

  const host = val('host')
  if (host === '') throw new ConfigError('host', 'must not be empty')
  const advertise = get('advertise') ?? host
  if (advertise === '0.0.0.0' || advertise === '::' || advertise === '') {
    throw new ConfigError(
      'advertise',
      `cannot advertise ${JSON.stringify(advertise)}; set --advertise to a reachable host`,
    )
  }

  const peers = val('peers')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  for (const p of peers)
    if (!isHostPort(p)) throw new ConfigError('peers', `expected host:port, got ${JSON.stringify(p)}`)

  const eager = val('eager-push')
  if (eager !== 'true' && eager !== 'false')
    throw new ConfigError('eager-push', `must be true|false, got ${JSON.stringify(eager)}`)

  const clusterKey = get('cluster-key')
  if (clusterKey !== undefined && clusterKey.length < 8)
    throw new ConfigError('cluster-key', 'must be at least 8 characters')

  let discovery: NodeConfig['discovery']
  const rawDisc = get('discovery')
  if (rawDisc !== undefined && rawDisc !== '') {
    if (rawDisc === 'multicast') discovery = 'multicast'
    else {
      discovery = rawDisc.split(',').map((u) => u.trim())
      for (const u of discovery) {
        let ok = false
        try {
          const url = new URL(u)
          ok = url.protocol === 'http:' || url.protocol === 'https:'
        } catch {}
        if (!ok)
          throw new ConfigError(
            'discovery',
            `expected http(s) URL[,URL] or multicast, got ${JSON.stringify(u)}`,
          )
      }
    }
  }

  const token = get('discovery-token')
  const dataDir = get('data-dir') ?? `data/${id}`
  if (dataDir === '') throw new ConfigError('data-dir', 'must not be empty')

  return {
    id,
    host,
    advertise,
    tcpPort: int('tcp-port', val('tcp-port'), 0, 65535),
    httpPort: int('http-port', val('http-port'), 0, 65535),
    peers,
    gossipIntervalMs: int('gossip-interval', val('gossip-interval'), 10, 600_000),
    fanout: int('fanout', val('fanout'), 1, 64),
    eagerPush: eager === 'true',
    clusterKey: clusterKey === '' ? undefined : clusterKey,
    clusterSize: int('cluster-size', val('cluster-size'), 1, 10_000),
    quorumTimeoutMs: int('quorum-timeout', val('quorum-timeout'), 1, 600_000),
    dataDir,
    durability: oneOf('durability', val('durability'), ['sync', 'async'] as const),
    snapshotIntervalMs: int('snapshot-interval', val('snapshot-interval'), 100, 86_400_000),
    discovery,
    heartbeatIntervalMs: int('heartbeat-interval', val('heartbeat-interval'), 50, 600_000),
    discoveryToken: token === '' ? undefined : token,
    idempotencyTtlMs: int('idempotency-ttl', val('idempotency-ttl'), 1000, 30 * 86_400_000),
    idempotencyMaxKeys: int('idempotency-max-keys', val('idempotency-max-keys'), 1, 100_000_000),
    maxFrameBytes: int('max-frame-bytes', val('max-frame-bytes'), 1024, 1024 * 1024 * 1024),
    inboundBudgetBytes: int(
      'inbound-budget-bytes',
      val('inbound-budget-bytes'),
      65_536,
      16 * 1024 * 1024 * 1024,
    ),
    logLevel: oneOf('log-level', val('log-level'), ['debug', 'info', 'warn', 'error'] as const),
  }
}
