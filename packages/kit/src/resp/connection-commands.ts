// Commands every Tally RESP listener answers the same way, whatever it
// serves: PING, ECHO, HELLO, AUTH, SELECT, CLIENT, COMMAND, INFO, QUIT, RESET.

import { createHash, timingSafeEqual } from 'node:crypto'
import { globMatch, parseInteger } from './args.js'
import {
  type CallContext,
  type CommandSpec,
  type CommandTable,
  commandDocsOf,
  commandInfoOf,
} from './command-table.js'
import { RedisErrors, unknownSubcommand, wrongArity } from './errors.js'
import { array, bulk, error, int, map, NIL, OK, type Reply, simple, verbatim } from './reply.js'
import { clientInfoLine, type Session } from './session.js'

/** Redis version reported by HELLO and INFO: the command set and replies follow Redis 7.2. */
export const REDIS_COMPAT_VERSION = '7.2.0'

/** One INFO section: a title (`Server`, `Tally`…) and its fields. */
export interface InfoSection {
  readonly title: string
  readonly fields: ReadonlyArray<readonly [string, string | number]>
}

/** What the connection commands need from their listener. */
export interface ConnectionContext {
  /** The password of the `default` user, or undefined when none is required. */
  readonly password: string | undefined
  /** The full command table (for COMMAND). */
  readonly table: () => CommandTable
  /** Live sessions (for CLIENT LIST and INFO clients). */
  readonly sessions: () => Iterable<Session>
  /** INFO sections after Server and Clients (e.g. Tally, Keyspace). */
  readonly sections: () => InfoSection[]
  /** `tally-node` or `tally-gateway`. */
  readonly serverName: string
  /** Tally's version. */
  readonly version: string
  /** TCP port the listener is bound to. */
  readonly port: () => number
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'latin1').digest()

/** Constant-time password check (both sides hashed first, so lengths leak nothing either). */
export function passwordMatches(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given))
}

const spec = (
  name: string,
  arity: number,
  flags: string[],
  summary: string,
  handler: CommandSpec['handler'],
): CommandSpec => ({ name, arity, flags, keys: [0, 0, 0], group: 'connection', summary, handler })

/** Renders INFO text for `wanted` sections (lowercase titles; empty, `default`, `all` or `everything` = all). */
export function renderInfo(sections: readonly InfoSection[], wanted: readonly string[]): string {
  const all = wanted.length === 0 || wanted.some((w) => ['default', 'all', 'everything'].includes(w))
  const out: string[] = []
  for (const s of sections) {
    if (!all && !wanted.includes(s.title.toLowerCase())) continue
    out.push(`# ${s.title}\r\n${s.fields.map(([k, v]) => `${k}:${v}\r\n`).join('')}`)
  }
  return out.join('\r\n')
}

/** The connection commands for a listener described by `cx`. */
export function connectionCommands(cx: ConnectionContext): CommandSpec[] {
  const auth = (s: Session, user: string, pass: string): Reply | undefined => {
    if (cx.password === undefined) return error(RedisErrors.noPassword)
    if (user !== 'default' || !passwordMatches(cx.password, pass)) return error(RedisErrors.wrongPass)
    s.authed = true
    return undefined
  }
  const serverSection = (): InfoSection => ({
    title: 'Server',
    fields: [
      ['redis_version', REDIS_COMPAT_VERSION],
      ['tally_version', cx.version],
      ['tally_server', cx.serverName],
      ['redis_mode', 'standalone'],
      ['os', `${process.platform} ${process.arch}`],
      ['process_id', process.pid],
      ['tcp_port', cx.port()],
      ['uptime_in_seconds', Math.floor(process.uptime())],
    ],
  })
  const clientsSection = (): InfoSection => ({
    title: 'Clients',
    fields: [['connected_clients', [...cx.sessions()].length]],
  })

  return [
    spec('ping', -1, ['fast', 'stale', 'noauth'], 'Returns PONG, or the argument.', (args) => {
      if (args.length > 2) return wrongArity('ping')
      return args.length === 2 ? bulk(args[1] as string) : simple('PONG')
    }),
    spec('echo', 2, ['fast'], 'Returns the given string.', (args) => bulk(args[1] as string)),
    spec('quit', -1, ['fast', 'noauth'], 'Closes the connection.', (_a, { session }) => {
      session.quitting = true
      return OK
    }),
    spec('reset', 1, ['fast', 'noauth'], 'Resets the connection.', (_a, { session }) => {
      session.proto = 2
      session.name = ''
      session.authed = cx.password === undefined
      return simple('RESET')
    }),
    spec('auth', -2, ['fast', 'noauth'], 'Authenticates the connection.', (args, { session }) => {
      if (args.length > 3) return error(RedisErrors.syntax)
      const [user, pass] = args.length === 3 ? [args[1], args[2]] : ['default', args[1]]
      return auth(session, user as string, pass as string) ?? OK
    }),
    spec('hello', -1, ['fast', 'noauth'], 'Handshakes with the server (RESP2 or RESP3).', (args, ctx) =>
      hello(args, ctx, cx, auth),
    ),
    spec('select', 2, ['fast'], 'Changes the selected database (only 0 exists).', (args) => {
      const n = parseInteger(args[1] as string)
      if (n === undefined) return error(RedisErrors.notInteger)
      return n === 0n ? OK : error(RedisErrors.dbRange)
    }),
    spec('client', -2, ['fast'], 'CLIENT ID|SETNAME|GETNAME|SETINFO|INFO|LIST.', (args, { session }) =>
      client(args, session, cx),
    ),
    spec('command', -1, ['loading', 'stale'], 'COMMAND [COUNT|INFO|DOCS|LIST].', (args) => {
      const table = cx.table()
      if (args.length === 1) return commandInfoOf(table, [])
      const sub = (args[1] as string).toLowerCase()
      const rest = args.slice(2)
      if (sub === 'count') return args.length === 2 ? int(table.size) : wrongArity('command|count')
      if (sub === 'info') return commandInfoOf(table, rest.length === 0 ? [...table.keys()] : rest)
      if (sub === 'docs') return commandDocsOf(table, rest)
      if (sub === 'list') return array([...table.keys()].map((k) => bulk(k)))
      return unknownSubcommand('command', args[1] as string)
    }),
    spec(
      'config',
      -2,
      ['loading', 'stale'],
      'CONFIG GET parameter… (read-only: Tally takes flags and env).',
      (args) => {
        const sub = (args[1] as string).toLowerCase()
        if (sub === 'set' || sub === 'rewrite' || sub === 'resetstat')
          return error(
            `ERR CONFIG ${sub.toUpperCase()} is not supported: ${cx.serverName} is configured by flags and environment (see --help)`,
          )
        if (sub !== 'get') return unknownSubcommand('config', args[1] as string)
        if (args.length < 3) return wrongArity('config|get')
        // The few parameters tools ask for; others (appendonly…) match nothing: Tally's durability is --durability.
        const known: Array<[string, string]> = [
          ['databases', '1'],
          ['save', ''],
          ['appendonly', 'no'],
        ]
        const hits = known.filter(([k]) => args.slice(2).some((p) => globMatch(p.toLowerCase(), k)))
        return map(hits.map(([k, v]) => [bulk(k), bulk(v)] as const))
      },
    ),
    spec('info', -1, ['loading', 'stale'], 'Returns information about the server.', (args) => {
      const sections = [serverSection(), clientsSection(), ...cx.sections()]
      return verbatim(
        renderInfo(
          sections,
          args.slice(1).map((a) => a.toLowerCase()),
        ),
      )
    }),
  ]
}

function hello(
  args: readonly string[],
  { session }: CallContext,
  cx: ConnectionContext,
  auth: (s: Session, user: string, pass: string) => Reply | undefined,
): Reply {
  let proto = session.proto
  if (args.length >= 2) {
    const v = parseInteger(args[1] as string)
    if (v === undefined) return error('ERR Protocol version is not an integer or out of range')
    if (v !== 2n && v !== 3n) return error(RedisErrors.noProto)
    proto = Number(v) as 2 | 3
  }
  let name: string | undefined
  for (let i = 2; i < args.length; i++) {
    const opt = (args[i] as string).toLowerCase()
    if (opt === 'auth' && i + 2 < args.length) {
      const fail = auth(session, args[i + 1] as string, args[i + 2] as string)
      if (fail) return fail
      i += 2
    } else if (opt === 'setname' && i + 1 < args.length) {
      name = args[i + 1] as string
      if (!validClientName(name)) return error(CLIENT_NAME_ERROR)
      i += 1
    } else return error(`ERR Syntax error in HELLO option '${(args[i] as string).slice(0, 64)}'`)
  }
  if (!session.authed) {
    return error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    )
  }
  session.proto = proto
  if (name !== undefined) session.name = name
  return map([
    [bulk('server'), bulk('redis')],
    [bulk('version'), bulk(REDIS_COMPAT_VERSION)],
    [bulk('proto'), int(proto)],
    [bulk('id'), int(session.id)],
    [bulk('mode'), bulk('standalone')],
    [bulk('role'), bulk('master')],
    [bulk('modules'), array([])],
    [bulk('tally'), bulk(`${cx.serverName} ${cx.version}`)],
  ])
}

const CLIENT_NAME_ERROR = 'ERR Client names cannot contain spaces, newlines or special characters.'
const validClientName = (s: string): boolean => /^[\x21-\x7e]*$/.test(s)

function client(args: readonly string[], session: Session, cx: ConnectionContext): Reply {
  const sub = (args[1] as string).toLowerCase()
  const argc = args.length
  switch (sub) {
    case 'id':
      return argc === 2 ? int(session.id) : wrongArity('client|id')
    case 'getname':
      return argc === 2 ? (session.name === '' ? NIL : bulk(session.name)) : wrongArity('client|getname')
    case 'setname': {
      if (argc !== 3) return wrongArity('client|setname')
      const name = args[2] as string
      if (!validClientName(name)) return error(CLIENT_NAME_ERROR)
      session.name = name
      return OK
    }
    case 'setinfo': {
      if (argc !== 4) return wrongArity('client|setinfo')
      const attr = (args[2] as string).toLowerCase()
      const value = args[3] as string
      if (!validClientName(value.replaceAll(' ', '_')))
        return error(`ERR ${attr} cannot contain spaces, newlines or special characters.`)
      if (attr === 'lib-name') session.libName = value
      else if (attr === 'lib-ver') session.libVer = value
      else return error(`ERR Unrecognized option '${(args[2] as string).slice(0, 64)}'`)
      return OK
    }
    case 'info':
      return argc === 2 ? verbatim(clientInfoLine(session, Date.now())) : wrongArity('client|info')
    case 'list': {
      const now = Date.now()
      return bulk([...cx.sessions()].map((s) => clientInfoLine(s, now)).join(''))
    }
    default:
      return unknownSubcommand('client', args[1] as string)
  }
}
