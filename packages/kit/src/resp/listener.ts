// A RESP TCP listener: connections, pipelining, backpressure, timeouts and
// authentication. What each command means is the server's command table;
// this file only runs them.
//
// Pipelining: every complete request in a read is dispatched at once (writes
// of one pipeline reach the node together and share its group commit); the
// replies are written in request order, each as soon as it and every reply
// before it are known. A handler's Pending reply (plain writes) settles
// synchronously once its batch is durable, so the replies of one read leave
// in one write, with no promise per command.

import { createServer, type Server, type Socket } from 'node:net'
import { arityOk, type CommandSpec, type CommandTable } from './command-table.js'
import { connectionCommands, type InfoSection } from './connection-commands.js'
import { RedisErrors, tallyErrorReply, unknownCommand, wrongArity } from './errors.js'
import { DEFAULT_RESP_LIMITS, type RespLimits, RespParser, RespProtocolError } from './parser.js'
import { Pending } from './pending.js'
import { encode, error, type Proto, type Reply } from './reply.js'
import { newSession, type Session } from './session.js'

/** The few logger methods the listener uses (pino fits). */
export interface RespLog {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Options of {@link RespListener}. Durations in ms. */
export interface RespListenerOptions {
  readonly host: string
  /** Port to bind; 0 = any free port (see {@link RespListener.port}). */
  readonly port: number
  /** Password of the `default` user; undefined = no AUTH needed. */
  readonly password?: string | undefined
  /** The server's own commands (the connection commands are added). */
  readonly commands: readonly CommandSpec[]
  /** INFO sections after Server and Clients. */
  readonly sections?: () => InfoSection[]
  /** `tally-node` or `tally-gateway`. */
  readonly serverName: string
  readonly version: string
  readonly logger: RespLog
  /** Turns an error a handler threw into a reply. Default: by its `code` (see tallyErrorReply); others are logged and answered TALLY_INTERNAL. */
  readonly errorReply?: (err: unknown) => Reply
  readonly limits?: RespLimits
  /** A connection with no traffic either way for this long is closed (default 300 000; 0 = never). */
  readonly idleTimeoutMs?: number
  /** A request left incomplete for this long is a slow client: the connection is closed (default 30 000). */
  readonly partialTimeoutMs?: number
  /** Most connections at once; more are refused by the OS accept path (default 10 000). */
  readonly maxConnections?: number
  /** Most requests of one connection awaiting their reply; reading pauses beyond it (default 1024). */
  readonly maxPending?: number
}

/** Counters of a listener, for INFO and tests. */
export interface RespStats {
  connectionsAccepted: number
  commandsProcessed: number
  protocolErrors: number
}

type Slot = { text: string | undefined; proto: Proto }

/** Most command spellings (`INCR`, `incr`, `Incr`…) remembered by {@link RespListener}'s lookup. */
const MAX_SPELLINGS = 1024

/** A running RESP listener. Create, {@link listen}, and always {@link close}. */
export class RespListener {
  readonly stats: RespStats = { connectionsAccepted: 0, commandsProcessed: 0, protocolErrors: 0 }
  readonly #o: RespListenerOptions
  readonly #table: Map<string, CommandSpec>
  readonly #spellings = new Map<string, CommandSpec>()
  readonly #server: Server
  readonly #conns = new Map<Socket, Session>()
  #nextId = 1
  #port = 0

  constructor(o: RespListenerOptions) {
    this.#o = o
    this.#table = new Map()
    const conn = connectionCommands({
      password: o.password,
      table: () => this.#table,
      sessions: () => this.#conns.values(),
      sections: () => o.sections?.() ?? [],
      serverName: o.serverName,
      version: o.version,
      port: () => this.#port,
    })
    for (const c of [...conn, ...o.commands]) this.#table.set(c.name, c)
    // Half-open: a client that sends its commands and then shuts down its side
    // (`printf 'INCR a\r\n' | nc`) still gets every reply before we close.
    this.#server = createServer({ noDelay: true, allowHalfOpen: true }, (s) => this.#accept(s))
    this.#server.maxConnections = o.maxConnections ?? 10_000
  }

  /** The command table (connection commands included), by lowercase name. */
  get table(): CommandTable {
    return this.#table
  }

  /** Bound port (after {@link listen}). */
  get port(): number {
    return this.#port
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size
  }

  /** Binds host:port. Rejects with the listen error (e.g. EADDRINUSE). */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.#server.once('error', onError)
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    this.#port = (this.#server.address() as { port: number }).port
    this.#server.on('error', (err) => this.#o.logger.error({ err }, 'RESP listener error'))
    return { host: this.#o.host, port: this.#port }
  }

  /** Stops accepting, closes every connection (pending replies are dropped), resolves when closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const s of this.#conns.keys()) s.destroy()
    if (!this.#server.listening) return
    await closed
  }

  #accept(socket: Socket): void {
    const o = this.#o
    const session = newSession(
      this.#nextId++,
      `${socket.remoteAddress}:${socket.remotePort}`,
      `${socket.localAddress}:${socket.localPort}`,
      o.password !== undefined,
    )
    this.stats.connectionsAccepted++
    this.#conns.set(socket, session)
    const parser = new RespParser(o.limits ?? DEFAULT_RESP_LIMITS)
    const queue: Slot[] = []
    const maxPending = o.maxPending ?? 1024
    let writeBlocked = false
    let closing = false
    let peerEnded = false
    // Replies of one group commit resolve one by one: write them with one syscall once the last
    // pending one has (at once when it was the only one), else at the end of this turn.
    let unresolved = 0
    let pumping = false
    // A pending reply may settle while this connection is pumping (a batch refused at once):
    // pump flushes when it is done.
    const settled = (): void => {
      unresolved--
      if (pumping) return
      if (unresolved === 0) flush()
      else flushSoon()
    }
    const onPending = (p: Pending<Reply>, slot: Slot): void => {
      slot.text = encode(p.failed ? this.#errorReply(p.error) : p.value, slot.proto)
      settled()
    }
    let flushScheduled = false
    const flushSoon = (): void => {
      if (flushScheduled) return
      flushScheduled = true
      setImmediate(() => {
        flushScheduled = false
        flush()
      })
    }
    // Reading stops while the socket's write buffer is full or too many replies are pending.
    let stalled = false
    let partialTimer: NodeJS.Timeout | undefined

    const idle = o.idleTimeoutMs ?? 300_000
    if (idle > 0) socket.setTimeout(idle, () => socket.destroy())

    const flush = (): void => {
      let out = ''
      while (queue.length > 0 && (queue[0] as Slot).text !== undefined) {
        out += (queue.shift() as Slot).text
      }
      if (out !== '' && !socket.destroyed) {
        if (!socket.write(out, 'latin1')) writeBlocked = true
      }
      if ((closing || (peerEnded && !stalled)) && queue.length === 0) socket.end()
      else maybeResume()
    }
    const maybeResume = (): void => {
      if (!stalled || closing || writeBlocked || queue.length >= maxPending) return
      stalled = false
      socket.resume()
      pump()
    }
    const push = (reply: Reply | Promise<Reply> | Pending<Reply>): void => {
      // The protocol in force when the command ran (HELLO switches it for later replies only).
      const proto: Proto = session.proto
      if (reply instanceof Pending) {
        if (reply.settled) {
          queue.push({
            text: encode(reply.failed ? this.#errorReply(reply.error) : reply.value, proto),
            proto,
          })
          return
        }
        const slot: Slot = { text: undefined, proto }
        queue.push(slot)
        unresolved++
        reply.listen(onPending, slot)
        return
      }
      if (!(reply instanceof Promise)) {
        queue.push({ text: encode(reply, proto), proto })
        return
      }
      const slot: Slot = { text: undefined, proto }
      queue.push(slot)
      unresolved++
      reply.then(
        (r) => {
          slot.text = encode(r, proto)
          settled()
        },
        (err: unknown) => {
          slot.text = encode(this.#errorReply(err), proto)
          settled()
        },
      )
    }
    const pump = (): void => {
      if (pumping) return
      pumping = true
      try {
        while (!closing && !writeBlocked && queue.length < maxPending) {
          let args: string[] | undefined
          try {
            args = parser.next()
          } catch (err) {
            if (!(err instanceof RespProtocolError)) throw err
            this.stats.protocolErrors++
            o.logger.debug({ client: session.addr, reason: err.message }, 'RESP protocol error')
            queue.push({
              text: encode(error(`ERR Protocol error: ${err.message}`), session.proto),
              proto: session.proto,
            })
            closing = true
            break
          }
          if (args === undefined) break
          push(this.#run(args, session))
          if (session.quitting) closing = true
        }
      } finally {
        pumping = false
      }
      if (!closing && (queue.length >= maxPending || writeBlocked)) {
        stalled = true
        socket.pause()
      }
      // A request left half-sent too long is a slow client.
      if (parser.buffered > 0 && !closing) {
        partialTimer ??= setTimeout(() => socket.destroy(), o.partialTimeoutMs ?? 30_000)
      } else if (partialTimer !== undefined) {
        clearTimeout(partialTimer)
        partialTimer = undefined
      }
      flush()
    }

    socket.on('data', (chunk: Buffer) => {
      if (closing) return
      parser.push(chunk)
      pump()
    })
    socket.on('end', () => {
      peerEnded = true
      pump()
    })
    socket.on('drain', () => {
      writeBlocked = false
      maybeResume()
    })
    socket.on('error', (err) =>
      o.logger.debug({ client: session.addr, err: err.message }, 'RESP client error'),
    )
    socket.on('close', () => {
      closing = true
      if (partialTimer !== undefined) clearTimeout(partialTimer)
      this.#conns.delete(socket)
    })
  }

  #run(args: string[], session: Session): Reply | Promise<Reply> | Pending<Reply> {
    this.stats.commandsProcessed++
    const typed = args[0] as string
    const spec = this.#lookup(typed)
    if (!session.authed && !spec?.flags.includes('noauth')) return error(RedisErrors.noAuth)
    if (spec === undefined) return unknownCommand(typed, args.slice(1))
    if (!arityOk(spec.arity, args.length)) return wrongArity(spec.name)
    try {
      return spec.handler(args, { session })
    } catch (err) {
      return this.#errorReply(err)
    }
  }

  // The command as typed (any case): a small cache of spellings seen, so the
  // hot path does not lowercase every request. Only known commands are cached.
  #lookup(typed: string): CommandSpec | undefined {
    const hit = this.#spellings.get(typed)
    if (hit !== undefined) return hit
    const spec = this.#table.get(typed.toLowerCase())
    if (spec !== undefined && this.#spellings.size < MAX_SPELLINGS) this.#spellings.set(typed, spec)
    return spec
  }

  #errorReply(err: unknown): Reply {
    if (this.#o.errorReply) return this.#o.errorReply(err)
    return defaultErrorReply(err, this.#o.logger)
  }
}

/**
 * An error with a `TALLY_…` code becomes its RESP error (tallyErrorReply);
 * anything else is a bug: logged at error level and answered
 * `-TALLY TALLY_INTERNAL internal error`.
 */
export function defaultErrorReply(err: unknown, log: RespLog): Reply {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('TALLY_') && code !== 'TALLY_INTERNAL') {
    return tallyErrorReply(code, String((err as Error).message))
  }
  log.error({ err }, 'unexpected error in a RESP command')
  return tallyErrorReply('TALLY_INTERNAL', 'internal error')
}
