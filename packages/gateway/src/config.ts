// The one configuration schema of tally-gateway: flags and env variables,
// parsed and validated in a pure function so server.ts is the only place that
// reads process.argv / process.env.

import { STRATEGY_NAMES, type StrategyName } from './strategies.js'

/** One documented setting: `--flag` on the command line, `env` in the environment. */
export interface Setting {
  /** Flag name without dashes, e.g. `http-port`. */
  flag: string
  /** Environment variable, e.g. `TALLY_PORT`. */
  env: string
  description: string
  /** Default as shown in `--help`; absent when the setting is optional. */
  default?: string
}

/** Thrown by {@link parseConfig} for a bad setting; `setting` names it. */
export class ConfigError extends Error {
  readonly setting: string
  constructor(setting: string, message: string) {
    super(`invalid setting --${setting}: ${message}`)
    this.name = 'ConfigError'
    this.setting = setting
  }
}

/** Validated configuration of one tally-gateway process. Durations in milliseconds. */
export interface GatewayConfig {
  host: string
  port: number
  /** RESP (Redis protocol) port; 0 = no RESP listener. */
  respPort: number
  /** Password RESP clients must AUTH with; undefined = none. */
  respPassword: string | undefined
  /** Discovery service base URLs (origin only), polled for `GET /peers`. */
  discovery: string[]
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
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}

const envName = (flag: string): string => `TALLY_${flag.toUpperCase().replaceAll('-', '_')}`

const S = (flag: string, description: string, def?: string): Setting =>
  def === undefined
    ? { flag, env: envName(flag), description }
    : { flag, env: envName(flag), description, default: def }

/** Every setting tally-gateway reads, in `--help` order. */
export const SETTINGS: ReadonlyArray<Setting> = [
  S('host', 'bind address of the HTTP server', '127.0.0.1'),
  S('port', 'HTTP port (0 = any free port)', '8080'),
  S('resp-port', 'Redis protocol (RESP) port (0 = off)', '6379'),
  S('resp-password', 'password RESP clients must AUTH with (default: none)'),
  S('discovery', 'discovery service URL[,URL]; its GET /peers list is polled'),
  S('nodes', 'static node list http://host:port[,...] (ids learnt from their /health)'),
  S('strategy', STRATEGY_NAMES.join(' | '), 'round-robin'),
  S('request-timeout', 'timeout of one attempt on one node, ms', '2000'),
  S('health-interval', 'active health check period, ms', '1000'),
  S('discovery-interval', 'discovery poll period, ms', '2000'),
  S('max-attempts', 'most nodes one request is tried on (failover)', '3'),
  S('deadline', 'overall time budget of one request across all attempts, ms', '5000'),
  S(
    'quorum-timeout',
    "the nodes' --quorum-timeout, ms: a quorum/all write attempt may take this much longer, so the node's 504 arrives",
    '2000',
  ),
  S('discovery-token', 'bearer token for the discovery service'),
  S('log-level', 'debug | info | warn | error', 'info'),
]

const KNOWN = new Set(SETTINGS.map((s) => s.flag))

/** `--help` text generated from {@link SETTINGS}. Pure. */
export function helpText(): string {
  const lines = [
    'Usage: tally-gateway [--nodes URL,...] [--discovery URL,...] [options]',
    '',
    'Options (flags win over environment):',
  ]
  for (const s of SETTINGS) {
    const def = s.default === undefined ? '' : ` (default: ${s.default})`
    lines.push(`  --${s.flag.padEnd(20)} ${s.env.padEnd(26)} ${s.description}${def}`)
  }
  lines.push('  --help                 print this text and exit')
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

/** Normalises an http(s) URL to its origin, or returns undefined when it is not one. Never throws. */
export function toOrigin(raw: string): string | undefined {
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    if (url.username !== '' || url.password !== '') return undefined
    return url.origin
  } catch {
    return undefined
  }
}

function urls(flag: string, raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return []
  const out: string[] = []
  for (const part of raw.split(',')) {
    const u = part.trim()
    const origin = toOrigin(u)
    if (origin === undefined)
      throw new ConfigError(flag, `expected http(s)://host:port[,...], got ${JSON.stringify(u)}`)
    if (!out.includes(origin)) out.push(origin)
  }
  return out
}

/**
 * Parses flags (`argv` without node and script) over `env`. Pure: returns the
 * validated config or throws {@link ConfigError} naming the bad setting.
 * `--help` is handled by the caller before this is called. Neither `--nodes`
 * nor `--discovery` is required (the gateway then answers 503 TALLY_NO_NODES).
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): GatewayConfig {
  const flags = readArgv(argv)
  const get = (flag: string): string | undefined => flags.get(flag) ?? env[envName(flag)]
  const def = (flag: string): string => SETTINGS.find((s) => s.flag === flag)?.default ?? ''
  const val = (flag: string): string => get(flag) ?? def(flag)

  const host = val('host')
  if (host === '') throw new ConfigError('host', 'must not be empty')
  const token = get('discovery-token')
  const respPassword = get('resp-password')
  const requestTimeoutMs = int('request-timeout', val('request-timeout'), 10, 600_000)
  const deadlineMs = int('deadline', val('deadline'), 10, 3_600_000)
  if (deadlineMs < requestTimeoutMs) {
    throw new ConfigError(
      'deadline',
      `must be at least --request-timeout (${requestTimeoutMs}), got ${deadlineMs}`,
    )
  }
  return {
    host,
    port: int('port', val('port'), 0, 65535),
    respPort: int('resp-port', val('resp-port'), 0, 65535),
    respPassword: respPassword === '' ? undefined : respPassword,
    discovery: urls('discovery', get('discovery')),
    nodes: urls('nodes', get('nodes')),
    strategy: oneOf('strategy', val('strategy'), STRATEGY_NAMES),
    requestTimeoutMs,
    healthIntervalMs: int('health-interval', val('health-interval'), 10, 600_000),
    discoveryIntervalMs: int('discovery-interval', val('discovery-interval'), 10, 600_000),
    maxAttempts: int('max-attempts', val('max-attempts'), 1, 100),
    deadlineMs,
    quorumTimeoutMs: int('quorum-timeout', val('quorum-timeout'), 1, 600_000),
    discoveryToken: token === '' ? undefined : token,
    logLevel: oneOf('log-level', val('log-level'), ['debug', 'info', 'warn', 'error'] as const),
  }
}
