// The three bins' configuration schemas, keyed by package directory, and
// helpers to read a command line the way the bins do. Used by the tests that
// check docker-compose.yml and run-cluster.sh against the real schemas.

import { fileURLToPath } from 'node:url'
import * as discovery from '../../packages/discovery/src/config.ts'
import * as gateway from '../../packages/gateway/src/config.ts'
import * as node from '../../packages/node/src/config.ts'

/** Repository root (absolute, no trailing slash). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')

/** One bin's published configuration contract. */
export interface Component {
  readonly settings: ReadonlyArray<{ readonly flag: string; readonly env: string }>
  /** The component's own pure parser: returns a config or throws naming the bad setting. */
  readonly parse: (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => unknown
}

/** Package directory name → configuration contract. */
export const COMPONENTS: Readonly<Record<'node' | 'discovery' | 'gateway', Component>> = {
  node: { settings: node.SETTINGS, parse: node.parseConfig },
  discovery: { settings: discovery.SETTINGS, parse: discovery.parseConfig },
  gateway: { settings: gateway.SETTINGS, parse: gateway.parseConfig },
}

/** Which package a `node …/packages/<pkg>/dist/tally-<pkg>.js` command runs, and its flags. */
export interface Invocation {
  readonly pkg: keyof typeof COMPONENTS
  readonly args: readonly string[]
}

/**
 * Splits `node <path>/packages/<pkg>/dist/tally-<pkg>.js ...args` (the bundled bin). Throws when the
 * command is not one of the three bins.
 */
export function invocationOf(command: readonly string[]): Invocation {
  const [exe, script, ...args] = command
  if (exe !== 'node') throw new Error(`expected the command to start with node, got ${JSON.stringify(exe)}`)
  const m = /(?:^|\/)packages\/(node|discovery|gateway)\/dist\/tally-\1\.js$/.exec(script ?? '')
  if (m === null) throw new Error(`not a Tally bin: ${JSON.stringify(script)}`)
  return { pkg: m[1] as Invocation['pkg'], args }
}

/**
 * `--name value` / `--name=value` pairs of a command line, in order. Throws
 * on a positional argument or a flag without a value.
 */
export function flagsOf(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (!arg.startsWith('--')) throw new Error(`unexpected positional argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    if (eq !== -1) {
      out.set(arg.slice(2, eq), arg.slice(eq + 1))
      continue
    }
    const value = args[i + 1]
    if (value === undefined || value.startsWith('--')) throw new Error(`${arg} has no value`)
    out.set(arg.slice(2), value)
    i++
  }
  return out
}

/** Every TALLY_* variable name any component reads. */
export function allSettingEnvs(): Set<string> {
  return new Set(Object.values(COMPONENTS).flatMap((c) => c.settings.map((s) => s.env)))
}
