// The one settings schema of the three bins: a typed list of settings (flag,
// env, description, default, parser), one pure parser of argv over env, one
// `--help` format, and the few lines every server.ts runs before it starts.
//
// Rules shared by every bin:
// - `--flag value` and `--flag=value`; flags win over `TALLY_*` env vars,
//   both win over the default. An empty env var counts as unset (compose
//   files write `TALLY_X: ${X:-}`); an empty flag value is a value.
// - `--help` / `-h` anywhere: print help, exit 0 (the parser skips them).
// - Anything wrong: one ConfigError naming the flag, exit 2.

/** Thrown by a {@link Parser} for a value it refuses; {@link parseSettings} adds the setting's name. */
export class InvalidValue extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidValue'
  }
}

/**
 * A bad, unknown or missing setting. `setting` is the flag name without
 * dashes (or the stray argument); the message reads
 * `invalid setting --flag: …`, followed by `(from TALLY_X)` when the value
 * came from the environment.
 */
export class ConfigError extends Error {
  /** Stable code, the same for every bin. */
  readonly code = 'TALLY_CONFIG_INVALID'
  readonly setting: string
  constructor(setting: string, message: string) {
    super(`invalid setting --${setting}: ${message}`)
    this.name = 'ConfigError'
    this.setting = setting
  }
}

/** Turns one raw string into a value; throws {@link InvalidValue} (or ConfigError for cross-field rules). */
export type Parser<T> = (raw: string) => T

/** One setting as declared by a bin. The value type is the parser's. */
export interface SettingSpec<T = unknown> {
  /** Flag name without dashes, lower-case words joined by `-`, e.g. `http-port`. */
  readonly flag: string
  readonly description: string
  readonly parse: Parser<T>
  /** Applied (through `parse`) when neither flag nor env is set, and shown in `--help`. */
  readonly default?: string
  /** Shown in `--help` only: a default the bin computes itself (e.g. `data/<id>`). */
  readonly shownDefault?: string
  /** Unset (and no default) is refused with `required (or set TALLY_X)`. */
  readonly required?: boolean
  /** Environment variable; default `TALLY_` + flag upper-cased with `_` for `-`. */
  readonly env?: string
}

/** The environment a bin reads (`process.env` in server.ts, a plain object in tests). */
export type Env = Readonly<Record<string, string | undefined>>

/** A bin's schema: config key → setting, in `--help` order. */
export type SettingsSchema = Readonly<Record<string, SettingSpec<unknown>>>

/** What {@link parseSettings} returns: each key typed by its parser, `| undefined` unless defaulted or required. */
export type SettingsValues<S extends SettingsSchema> = {
  -readonly [K in keyof S]: S[K] extends { readonly default: string } | { readonly required: true }
    ? ReturnType<S[K]['parse']>
    : ReturnType<S[K]['parse']> | undefined
}

/** One setting as published (tests, docs, compose checks): flag, env, description, default. */
export interface Setting {
  readonly flag: string
  readonly env: string
  readonly description: string
  /** Default as shown in `--help`; absent when there is none. */
  readonly default?: string
}

/** The env variable of `flag` by the naming rule: `http-port` → `TALLY_HTTP_PORT`. Pure. */
export function envName(flag: string): string {
  return `TALLY_${flag.toUpperCase().replaceAll('-', '_')}`
}

/**
 * Declares a schema and keeps its value types (identity otherwise). Throws
 * TypeError for a flag name that is not lower-case words joined by `-`, or a
 * flag or env name used twice (programmer mistakes).
 */
export function defineSettings<const S extends SettingsSchema>(schema: S): S {
  const seen = new Set<string>()
  for (const spec of Object.values(schema)) {
    if (!/^[a-z][a-z0-9-]*$/.test(spec.flag)) throw new TypeError(`bad flag name ${spec.flag}`)
    for (const name of [`--${spec.flag}`, spec.env ?? envName(spec.flag)]) {
      if (seen.has(name)) throw new TypeError(`${name} is declared twice`)
      seen.add(name)
    }
  }
  return schema
}

/** The published list of a schema, in `--help` order. Pure. */
export function settingList(schema: SettingsSchema): ReadonlyArray<Setting> {
  return Object.values(schema).map((s) => {
    const def = s.default ?? s.shownDefault
    const base = { flag: s.flag, env: s.env ?? envName(s.flag), description: s.description }
    return def === undefined ? base : { ...base, default: def }
  })
}

/** True when argv asks for help (`--help` or `-h` anywhere). Pure. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h')
}

/** Splits argv into flag → value. Skips `--help`/`-h`. Throws ConfigError. */
function readArgv(argv: readonly string[], known: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') continue
    if (!arg.startsWith('--'))
      throw new ConfigError(arg, 'unexpected argument (flags look like --name value)')
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!known.has(flag)) throw new ConfigError(flag, 'unknown flag (see --help)')
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

/**
 * Parses `argv` (without node and script) over `env` against `schema`. Pure:
 * returns every key's value (flag, else non-empty env, else the default, else
 * undefined) or throws {@link ConfigError} naming the first bad setting in
 * schema order (unknown flags and stray arguments first).
 */
export function parseSettings<S extends SettingsSchema>(
  schema: S,
  argv: readonly string[],
  env: Env,
): SettingsValues<S> {
  const flags = readArgv(argv, new Set(Object.values(schema).map((s) => s.flag)))
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(schema)) {
    const envVar = spec.env ?? envName(spec.flag)
    const fromFlag = flags.get(spec.flag)
    const fromEnv = env[envVar]
    let raw: string | undefined
    let source = ''
    if (fromFlag !== undefined) raw = fromFlag
    else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv
      source = ` (from ${envVar})`
    } else raw = spec.default
    if (raw === undefined) {
      if (spec.required) throw new ConfigError(spec.flag, `required (or set ${envVar})`)
      out[key] = undefined
      continue
    }
    try {
      out[key] = spec.parse(raw)
    } catch (err) {
      if (err instanceof InvalidValue) throw new ConfigError(spec.flag, `${err.message}${source}`)
      throw err
    }
  }
  return out as SettingsValues<S>
}

/**
 * The one `--help` format: a usage line, then one line per setting
 * `  --flag  TALLY_ENV  description (default: x)` (an empty default shows as
 * `none`), columns aligned, and the `--help` line last. Pure.
 */
export function helpText(usage: string, schema: SettingsSchema): string {
  const list = settingList(schema)
  const flagWidth = Math.max(6, ...list.map((s) => s.flag.length)) + 2
  const envWidth = Math.max(...list.map((s) => s.env.length), 0) + 2
  const lines = [`Usage: ${usage}`, '', 'Options (flags win over environment):']
  for (const s of list) {
    const def = s.default === undefined ? '' : ` (default: ${s.default === '' ? 'none' : s.default})`
    lines.push(`  --${s.flag.padEnd(flagWidth)}${s.env.padEnd(envWidth)}${s.description}${def}`)
  }
  lines.push(`  --${'help'.padEnd(flagWidth)}${''.padEnd(envWidth)}print this text and exit (also -h)`)
  return lines.join('\n')
}

/** Where {@link readConfigOrExit} writes and how it exits; tests swap it. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly exit: (code: number) => never
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  exit: (code) => process.exit(code),
}

/**
 * The config step of every server.ts: on `--help`/`-h` prints `help()` to
 * stdout and exits 0; on a ConfigError prints `<bin>: invalid setting --flag: …`
 * to stderr and exits 2; otherwise returns `parse(argv, env)`. Any other error
 * is rethrown. Synchronous. Defaults read process.argv/env and exit the process.
 */
export function readConfigOrExit<C>(
  bin: string,
  help: () => string,
  parse: (argv: readonly string[], env: Env) => C,
  argv: readonly string[] = process.argv.slice(2),
  env: Env = process.env,
  io: CliIo = processIo,
): C {
  if (wantsHelp(argv)) {
    io.stdout(`${help()}\n`)
    return io.exit(0)
  }
  try {
    return parse(argv, env)
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${bin}: ${err.message}\n`)
      return io.exit(2)
    }
    throw err
  }
}
