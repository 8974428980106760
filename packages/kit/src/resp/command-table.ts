// The shape of a RESP command table and the COMMAND / COMMAND INFO / DOCS
// replies built from it. Each server owns its table; the listener dispatches
// through it.

import type { Pending } from './pending.js'
import { array, bulk, int, map, NIL, type Reply, set, simple } from './reply.js'
import type { Session } from './session.js'

/** What a handler gets besides its arguments. */
export interface CallContext {
  /** The connection's state (protocol, name, auth…). */
  readonly session: Session
}

/**
 * Runs one command. `args[0]` is the command name as sent; every argument is
 * a byte string (latin1). Returns the reply, or a promise of it, or a
 * {@link Pending} one (writes: settled once durable; a Pending costs no
 * microtask). May throw (or reject with) an error carrying a stable `code`;
 * the listener turns it into an error reply.
 */
export type Handler = (args: readonly string[], ctx: CallContext) => Reply | Promise<Reply> | Pending<Reply>

/** One command, described as redis-server describes its own (COMMAND INFO). */
export interface CommandSpec {
  /** Lowercase name, e.g. `incrby` or `tally.incrby`. */
  readonly name: string
  /** Redis arity: N = exactly N arguments including the name, −N = at least N. */
  readonly arity: number
  /** Redis flags, e.g. `write`, `readonly`, `fast`, `denyoom`, `loading`, `stale`, `noauth`. */
  readonly flags: readonly string[]
  /** Position of the first key argument (0 = none), of the last (−1 = last argument), and the step. */
  readonly keys: readonly [first: number, last: number, step: number]
  /** Group in COMMAND DOCS: `string`, `generic`, `connection`, `server`, `tally`. */
  readonly group: string
  /** One-line summary for COMMAND DOCS and `redis-cli` hints. */
  readonly summary: string
  readonly handler: Handler
}

/** Commands by lowercase name. */
export type CommandTable = ReadonlyMap<string, CommandSpec>

/** True when `argc` arguments (name included) satisfy `arity`. */
export function arityOk(arity: number, argc: number): boolean {
  return arity >= 0 ? argc === arity : argc >= -arity
}

/** The COMMAND INFO entry of `c` (the 10-element Redis 7 shape). */
export function commandInfo(c: CommandSpec): Reply {
  return array([
    bulk(c.name),
    int(c.arity),
    set(c.flags.map((f) => simple(f))),
    int(c.keys[0]),
    int(c.keys[1]),
    int(c.keys[2]),
    set([simple(`@${c.group}`)]),
    array([]),
    array([]),
    array([]),
  ])
}

/** The COMMAND DOCS entry of `c`: summary, since, group. */
export function commandDocs(c: CommandSpec): Reply {
  return map([
    [bulk('summary'), bulk(c.summary)],
    [bulk('since'), bulk('1.0.0')],
    [bulk('group'), bulk(c.group)],
  ])
}

/** COMMAND INFO for the named commands: an entry each, nil for unknown names. */
export function commandInfoOf(table: CommandTable, names: readonly string[]): Reply {
  const all = names.length === 0 ? [...table.values()] : names.map((n) => table.get(n.toLowerCase()))
  return array(all.map((c) => (c === undefined ? NIL : commandInfo(c))))
}

/** COMMAND DOCS for the named commands (all when none); unknown names are left out, as Redis does. */
export function commandDocsOf(table: CommandTable, names: readonly string[]): Reply {
  const all = names.length === 0 ? [...table.values()] : names.map((n) => table.get(n.toLowerCase()))
  const pairs: Array<readonly [Reply, Reply]> = []
  for (const c of all) if (c !== undefined) pairs.push([bulk(c.name), commandDocs(c)])
  return map(pairs)
}
