// Parsers for settings: each takes the raw string of a flag, env var or
// default and returns the typed value, or throws InvalidValue with a message
// that parseSettings prefixes with `invalid setting --flag: `.

import { InvalidValue, type Parser } from './settings.js'

const quote = (raw: string): string => JSON.stringify(raw)

/** Decimal integer in `[min, max]` (no sign, no exponent). */
export function int(min: number, max: number): Parser<number> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max)
    throw new RangeError(`int(${min}, ${max}): bad range`)
  return (raw) => {
    if (!/^\d+$/.test(raw)) throw new InvalidValue(`expected an integer, got ${quote(raw)}`)
    const n = Number(raw)
    if (n < min || n > max) throw new InvalidValue(`must be between ${min} and ${max}, got ${n}`)
    return n
  }
}

/** One of `values`, compared exactly. */
export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    if (!(values as readonly string[]).includes(raw))
      throw new InvalidValue(`must be one of ${values.join('|')}, got ${quote(raw)}`)
    return raw as T
  }
}

/** The log levels every bin accepts for `--log-level`. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** A RESP port: a port 1-65535, `0` (no listener) or `any` (a free port the system picks). */
export type RespPort = number | 'any'

/** Parses a {@link RespPort}. */
export function respPort(): Parser<RespPort> {
  const port = int(0, 65535)
  return (raw) => {
    if (raw === 'any') return 'any'
    try {
      return port(raw)
    } catch {
      throw new InvalidValue(`must be a port 1-65535, 0 (off) or any (a free port), got ${quote(raw)}`)
    }
  }
}

/** The port to bind for `p` (`any` → 0, which the system resolves), or undefined when RESP is off. */
export function respBindPort(p: RespPort): number | undefined {
  if (p === 'any') return 0
  return p === 0 ? undefined : p
}

/**
 * The `--resp-port` and `--resp-password` settings of a bin with a Redis
 * protocol listener; `defaultPort` as written in `--help` (0 = off). Spread
 * into a `defineSettings` schema.
 */
export function respSettings(defaultPort: number) {
  return {
    respPort: {
      flag: 'resp-port',
      description: 'Redis protocol (RESP) port (0 = off, any = a free port)',
      parse: respPort(),
      default: String(defaultPort),
    },
    respPassword: {
      flag: 'resp-password',
      description: 'password RESP clients must AUTH with',
      parse: text(),
    },
  } as const
}

/** The `--log-level` setting every bin has (pino levels), default `level`. */
export function logLevelSetting(level: LogLevel = 'info') {
  return {
    flag: 'log-level',
    description: LOG_LEVELS.join(' | '),
    parse: oneOf(LOG_LEVELS),
    default: level as string,
  } as const
}

/** `true` or `false`. */
export function bool(): Parser<boolean> {
  return (raw) => {
    if (raw !== 'true' && raw !== 'false') throw new InvalidValue(`must be true|false, got ${quote(raw)}`)
    return raw === 'true'
  }
}

/** A bind address or host name: any non-blank string (the OS judges it at listen). */
export function host(): Parser<string> {
  return (raw) => {
    if (raw.trim() === '') throw new InvalidValue('must not be empty')
    return raw
  }
}

/** A non-empty string, taken as written (paths, names). */
export function nonEmpty(): Parser<string> {
  return (raw) => {
    if (raw === '') throw new InvalidValue('must not be empty')
    return raw
  }
}

/**
 * `keyword` itself, or whatever `parser` accepts; a refusal names the
 * keyword as the alternative.
 */
export function orKeyword<const K extends string, T>(keyword: K, parser: Parser<T>): Parser<K | T> {
  return (raw) => {
    if (raw === keyword) return keyword
    try {
      return parser(raw)
    } catch (err) {
      if (err instanceof InvalidValue) throw new InvalidValue(`${err.message} or ${keyword}`)
      throw err
    }
  }
}

/**
 * Free text, at least `minLength` characters (so `''` is refused when
 * `minLength` > 0); `''` otherwise means "not set" and gives undefined.
 */
export function text(opts: { minLength?: number } = {}): Parser<string | undefined> {
  const min = opts.minLength ?? 0
  return (raw) => {
    if (raw.length < min) throw new InvalidValue(`must be at least ${min} characters`)
    return raw === '' ? undefined : raw
  }
}

/** A non-empty string matching `re`; `rule` says the rule in words for the message. */
export function matching(re: RegExp, rule: string): Parser<string> {
  return (raw) => {
    if (!re.test(raw)) throw new InvalidValue(`must be ${rule}, got ${quote(raw)}`)
    return raw
  }
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/

/** True when `raw` is `host:port` (or `[v6]:port`) with a port in 1..65535. Never throws. */
export function isHostPort(raw: string): boolean {
  if (!HOST_PORT.test(raw)) return false
  const port = Number(raw.slice(raw.lastIndexOf(':') + 1))
  return port >= 1 && port <= 65535
}

/** Comma-separated `host:port` list; blanks are skipped, `''` is the empty list. */
export function hostPortList(): Parser<string[]> {
  return (raw) => {
    const out = raw
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
    for (const p of out) if (!isHostPort(p)) throw new InvalidValue(`expected host:port, got ${quote(p)}`)
    return out
  }
}

/** Normalises an http(s) URL without credentials to its origin; undefined when it is not one. Never throws. */
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

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/**
 * Comma-separated http(s) URLs; blank (`''` or spaces) is the empty list.
 * With `origins`, each URL must carry no credentials and is reduced to its
 * origin, duplicates dropped; without, each is kept as written (trimmed).
 */
export function urlList(opts: { origins?: boolean } = {}): Parser<string[]> {
  return (raw) => {
    if (raw.trim() === '') return []
    const out: string[] = []
    for (const part of raw.split(',')) {
      const u = part.trim()
      const value = opts.origins ? toOrigin(u) : isHttpUrl(u) ? u : undefined
      if (value === undefined) throw new InvalidValue(`expected http(s)://host:port[,...], got ${quote(u)}`)
      if (!opts.origins || !out.includes(value)) out.push(value)
    }
    return out
  }
}
