/**
 * tally-discovery configuration: one schema, flags and env. Pure (no I/O):
 * `server.ts` passes `process.argv.slice(2)` and `process.env`.
 */

/** One setting: `--flag` on the command line, `env` in the environment; flags win. */
export interface Setting {
  /** Flag name without dashes, e.g. `port`. */
  readonly flag: string
  /** Environment variable, e.g. `TALLY_PORT`. */
  readonly env: string
  readonly description: string
  /** Default as written on the command line; absent when there is none. */
  readonly default?: string
}

/** Every tally-discovery setting; `--help` is generated from this list. */
export const SETTINGS: ReadonlyArray<Setting> = [
  {
    flag: 'host',
    env: 'TALLY_HOST',
    description: 'address to bind the HTTP server to',
    default: '127.0.0.1',
  },
  { flag: 'port', env: 'TALLY_PORT', description: 'HTTP port (0 = any free port)', default: '8000' },
  {
    flag: 'ttl',
    env: 'TALLY_TTL',
    description: 'ms without heartbeat before an entry expires (3x the nodes default 1000 ms heartbeat)',
    default: '3000',
  },
  {
    flag: 'token',
    env: 'TALLY_TOKEN',
    description:
      'shared secret; when set, POST/DELETE need "Authorization: Bearer <token>" (prefer the env var)',
  },
  {
    flag: 'max-peers',
    env: 'TALLY_MAX_PEERS',
    description: 'most entries the registry holds',
    default: '10000',
  },
  { flag: 'log-level', env: 'TALLY_LOG_LEVEL', description: 'debug|info|warn|error', default: 'info' },
]

/** Log levels accepted by `--log-level`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Validated tally-discovery configuration. */
export interface DiscoveryConfig {
  readonly host: string
  readonly port: number
  readonly ttlMs: number
  readonly token?: string
  readonly maxPeers: number
  readonly logLevel: LogLevel
  /** `--help` was given: print `helpText()` and exit 0. */
  readonly help: boolean
}

/** A bad flag or env value; `message` names the setting. `server.ts` exits 2 on it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'TALLY_CONFIG_INVALID'
}

/**
 * Reads argv (`--name value`, `--name=value`, `--help`) and env
 * (`TALLY_NAME`); flags win over env, both over defaults. Pure.
 * Throws `ConfigError` naming the setting on an unknown flag, a missing value
 * or a value out of range.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DiscoveryConfig {
  const flags = readFlags(argv)
  const raw = (flag: string): { value: string; from: string } | undefined => {
    const s = SETTINGS.find((x) => x.flag === flag)!
    const f = flags.values.get(flag)
    if (f !== undefined) return { value: f, from: `--${flag}` }
    const e = env[s.env]
    if (e !== undefined && e !== '') return { value: e, from: s.env }
    return s.default === undefined ? undefined : { value: s.default, from: `--${flag} default` }
  }
  const host = raw('host')!
  if (host.value.trim() === '') throw new ConfigError(`${host.from}: host must not be empty`)
  const token = raw('token')
  if (token !== undefined && token.value.length < 8) {
    throw new ConfigError(`${token.from}: token must be at least 8 characters`)
  }
  const logLevel = raw('log-level')!
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel.value)) {
    throw new ConfigError(
      `${logLevel.from}: log level must be one of debug|info|warn|error, got "${logLevel.value}"`,
    )
  }
  return {
    host: host.value,
    port: int(raw('port')!, 0, 65535),
    ttlMs: int(raw('ttl')!, 1, 86_400_000),
    ...(token === undefined ? {} : { token: token.value }),
    maxPeers: int(raw('max-peers')!, 1, 1_000_000),
    logLevel: logLevel.value as LogLevel,
    help: flags.help,
  }
}

/** `--help` text: every flag with its env var and default. */
export function helpText(): string {
  const lines = [
    'Usage: tally-discovery [flags]',
    '',
    'Flags (each also readable from its env var; flags win):',
  ]
  for (const s of SETTINGS) {
    const def = s.default === undefined ? '' : ` (default ${s.default})`
    lines.push(`  --${s.flag} <value>`.padEnd(24) + `${s.env.padEnd(18)} ${s.description}${def}`)
  }
  lines.push('  --help'.padEnd(24) + 'print this help and exit')
  return lines.join('\n') + '\n'
}

function readFlags(argv: readonly string[]): { values: Map<string, string>; help: boolean } {
  const values = new Map<string, string>()
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument "${arg}" (flags look like --port 8000)`)
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    if (!SETTINGS.some((s) => s.flag === name)) throw new ConfigError(`unknown flag --${name} (see --help)`)
    let value: string | undefined
    if (eq >= 0) value = arg.slice(eq + 1)
    else {
      value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name} needs a value`)
      i++
    }
    values.set(name, value)
  }
  return { values, help }
}

function int(v: { value: string; from: string }, min: number, max: number): number {
  if (!/^[0-9]+$/.test(v.value)) throw new ConfigError(`${v.from}: expected an integer, got "${v.value}"`)
  const n = Number(v.value)
  if (n < min || n > max) throw new ConfigError(`${v.from}: must be between ${min} and ${max}, got ${n}`)
  return n
}
