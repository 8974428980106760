// The settings of tally-discovery and its typed config. Parsing, `--help` and
// the error format are @tally/kit's (one implementation for the three bins).
// Env names are TALLY_HOST, TALLY_PORT, TALLY_TTL, … (deployments use them).
// server.ts is the only reader of argv/env.

import {
  ConfigError,
  defineSettings,
  type Env,
  host,
  int,
  helpText as kitHelpText,
  type LogLevel,
  logLevelSetting,
  parseSettings,
  type Setting,
  settingList,
  text,
  wantsHelp,
} from '@tally/kit'

export { ConfigError, type LogLevel, type Setting }

/** Validated tally-discovery configuration. */
export interface DiscoveryConfig {
  readonly host: string
  readonly port: number
  readonly ttlMs: number
  readonly token?: string
  readonly maxPeers: number
  readonly logLevel: LogLevel
  /** `--help` (or `-h`) was given: print `helpText()` and exit 0. */
  readonly help: boolean
}

/** The schema of tally-discovery, in `--help` order; keys are DiscoveryConfig's. */
export const SCHEMA = defineSettings({
  host: {
    flag: 'host',
    description: 'address to bind the HTTP server to',
    parse: host(),
    default: '127.0.0.1',
  },
  port: { flag: 'port', description: 'HTTP port (0 = any free port)', parse: int(0, 65535), default: '8000' },
  ttlMs: {
    flag: 'ttl',
    description: 'ms without heartbeat before an entry expires (3x the nodes default 1000 ms heartbeat)',
    parse: int(1, 86_400_000),
    default: '3000',
  },
  token: {
    flag: 'token',
    description:
      'shared secret; when set, POST/DELETE need "Authorization: Bearer <token>" (prefer the env var)',
    parse: text({ minLength: 8 }),
  },
  maxPeers: {
    flag: 'max-peers',
    description: 'most entries the registry holds',
    parse: int(1, 1_000_000),
    default: '10000',
  },
  logLevel: logLevelSetting(),
})

/** Every tally-discovery setting, in `--help` order. */
export const SETTINGS: ReadonlyArray<Setting> = settingList(SCHEMA)

/** `--help` text of tally-discovery (the common format). Pure. */
export function helpText(): string {
  return kitHelpText('tally-discovery [options]', SCHEMA)
}

/**
 * Reads argv (`--name value`, `--name=value`, `--help`) over env
 * (`TALLY_NAME`); flags win over env, both over defaults. Pure. Throws
 * {@link ConfigError} naming the setting (and the env var when the bad value
 * came from one) on an unknown flag, a missing value or a value out of range.
 */
export function parseConfig(argv: readonly string[], env: Env): DiscoveryConfig {
  const { token, ...rest } = parseSettings(SCHEMA, argv, env)
  return { ...rest, ...(token === undefined ? {} : { token }), help: wantsHelp(argv) }
}
