// Raw TCP transport. One persistent outbound connection per peer carries
// everything we send it; inbound connections only carry what peers send us
// (so each pair of nodes normally holds two sockets, one each way). Small
// frames queued in the same tick are written with one write() call.

import net from 'node:net'
import type { Logger } from 'pino'
import { backoffCap, backoffDelay } from '../membership/backoff.js'
import { encodeFrame } from './frame-codec.js'
import { HELLO_BYTES, proof } from './handshake.js'
import { InboundBudget } from './inbound-budget.js'
import type { Message } from './messages.js'
import { serveInbound } from './tcp-inbound.js'
import { emptyStats, type MessageHandler, type Transport, type TransportStats } from './transport.js'

/** Options of {@link TcpTransport}. Durations in ms. */
export interface TcpTransportOptions {
  host: string
  port: number
  /** Cluster key: frames are authenticated with HMAC-SHA256 when set. */
  clusterKey?: string | undefined
  maxFrameBytes: number
  logger: Logger
  /** Close a connection with no traffic for this long. */
  idleTimeoutMs?: number
  /**
   * Close an inbound connection that leaves a frame incomplete this long
   * after its first byte, or that has not completed the handshake and its
   * first frame this long after it was accepted.
   */
  readTimeoutMs?: number
  /** Most bytes held in incomplete inbound frames, all connections together. */
  inboundBudgetBytes?: number
  /** Give up a connection attempt after this long (a lost SYN is retried by a new attempt). */
  connectTimeoutMs?: number
  /**
   * Close a connection whose queued bytes make no progress for this long
   * (the peer stopped reading, or the link black-holes our segments).
   */
  writeStallMs?: number
  /** TCP keepalive: first probe after this much idleness (half-open links). */
  keepAliveMs?: number
  /** Most bytes queued per peer while its socket is not writable; beyond, messages are dropped. */
  maxQueueBytes?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Peers reachable within `recentMs` back off at most `recentBackoffMaxMs`. */
  recentMs?: number
  recentBackoffMaxMs?: number
  maxInboundConnections?: number
}

class Outbound {
  socket: net.Socket | null = null
  connected = false
  draining = false
  queue: Buffer[] = []
  queued = 0
  failures = 0
  retryAt = 0
  /** Last time the peer was known reachable (connected, or sent us a message); null: never. */
  lastGood: number | null = null
  stallTimer: NodeJS.Timeout | undefined = undefined
  flushScheduled = false
  drainWaiters: Array<() => void> = []
  constructor(readonly addr: string) {}
}

/** Splits `host:port` (IPv6 in brackets). Returns null when malformed. */
export function splitAddr(addr: string): { host: string; port: number } | null {
  const i = addr.lastIndexOf(':')
  if (i <= 0) return null
  let host = addr.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(addr.slice(i + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null
  return { host, port }
}

/** TCP implementation of {@link Transport}. */
export class TcpTransport implements Transport {
  readonly #o: Required<Omit<TcpTransportOptions, 'clusterKey'>>
  readonly #key: Buffer | undefined
  readonly #server: net.Server
  readonly #peers = new Map<string, Outbound>()
  readonly #inbound = new Set<net.Socket>()
  readonly #stats: TransportStats = emptyStats()
  readonly #budget: InboundBudget
  // The frames of the last sequence encoded: eager push and forwarding send one array to
  // each of their targets, so it is encoded (and MACed) once, not once per peer.
  #lastSent: { msgs: readonly Message[]; frames: Buffer[]; bytes: number } | undefined
  #handler: MessageHandler = () => {}
  #closed = false

  constructor(opts: TcpTransportOptions) {
    this.#o = {
      idleTimeoutMs: 60_000,
      readTimeoutMs: 10_000,
      connectTimeoutMs: 1_000,
      writeStallMs: 2_000,
      keepAliveMs: 1_000,
      maxQueueBytes: 64 * 1024 * 1024,
      backoffBaseMs: 100,
      backoffMaxMs: 10_000,
      recentMs: 600_000,
      recentBackoffMaxMs: 500,
      maxInboundConnections: 1024,
      inboundBudgetBytes: 16 * 1024 * 1024,
      ...opts,
    }
    this.#budget = new InboundBudget(this.#o.inboundBudgetBytes)
    this.#key = opts.clusterKey ? Buffer.from(opts.clusterKey, 'utf8') : undefined
    this.#server = net.createServer((s) => this.#accept(s))
    this.#server.maxConnections = this.#o.maxInboundConnections
  }

  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject)
        const a = this.#server.address() as net.AddressInfo
        resolve(`${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`)
      })
    })
  }

  onMessage(handler: MessageHandler): void {
    this.#handler = handler
  }

  stats(): TransportStats {
    return {
      ...this.#stats,
      badFrames: { ...this.#stats.badFrames },
      openConnections: this.#openCount(),
      inboundHeldBytes: this.#budget.used,
    }
  }

  #openCount(): number {
    let n = this.#inbound.size
    for (const p of this.#peers.values()) if (p.connected) n++
    return n
  }

  send(addr: string, msg: Message): void {
    this.#send(addr, [msg], false)
  }

  sendAll(addr: string, msgs: readonly Message[]): void {
    this.#send(addr, msgs, true)
  }

  // `reuse`: the caller may send this same array to other peers in this turn.
  #send(addr: string, msgs: readonly Message[], reuse: boolean): void {
    if (this.#closed || msgs.length === 0) return
    let p = this.#peers.get(addr)
    if (!p) {
      p = new Outbound(addr)
      this.#peers.set(addr, p)
    }
    if (!p.socket && Date.now() < p.retryAt) {
      this.#stats.dropped += msgs.length
      return
    }
    const encoded = this.#encode(msgs, reuse)
    if (encoded === undefined) return
    const { frames, bytes } = encoded
    // All or nothing: a sequence must never arrive with a hole in the middle.
    if (p.queued + bytes > this.#o.maxQueueBytes) {
      this.#stats.dropped += msgs.length
      return
    }
    p.queue.push(...frames)
    p.queued += bytes
    if (!p.socket) this.#connect(p)
    else this.#scheduleFlush(p)
  }

  // Frames of `msgs` (reused when the same array was the last one encoded in this turn);
  // undefined (logged) when a message cannot be encoded. Frames are never modified once
  // queued, so sharing them between peers is safe.
  #encode(msgs: readonly Message[], keep: boolean): { frames: Buffer[]; bytes: number } | undefined {
    const last = this.#lastSent
    if (last !== undefined && last.msgs === msgs) return last
    const frames: Buffer[] = []
    let bytes = 0
    for (const msg of msgs) {
      try {
        const f = encodeFrame(msg, this.#key)
        frames.push(f)
        bytes += f.length
      } catch (err) {
        this.#o.logger.error({ err, type: msg.t }, 'cannot encode message')
        return undefined
      }
    }
    const out = { msgs, frames, bytes }
    if (keep) {
      // Kept for the sends of the same turn only (a sender loops over its targets at once),
      // so a big sequence is not held in memory after.
      if (this.#lastSent === undefined) queueMicrotask(() => (this.#lastSent = undefined))
      this.#lastSent = out
    }
    return out
  }

  #connect(p: Outbound): void {
    const hp = splitAddr(p.addr)
    if (!hp) {
      this.#fail(p, new Error(`bad address ${p.addr}`))
      return
    }
    const s = net.connect({ host: hp.host, port: hp.port, noDelay: true })
    p.socket = s
    s.setTimeout(this.#o.connectTimeoutMs)
    // Ready once connected and, with a cluster key, once the acceptor's HELLO
    // was answered with our proof (the connect timeout covers both).
    const ready = (): void => {
      p.connected = true
      p.failures = 0
      p.lastGood = Date.now()
      s.setTimeout(this.#o.idleTimeoutMs)
      this.#scheduleFlush(p)
    }
    const key = this.#key
    let helloBytes = Buffer.alloc(0)
    s.once('connect', () => {
      s.setKeepAlive(true, this.#o.keepAliveMs)
      if (!key) ready()
    })
    // Peers never write on our outbound connections except the HELLO; anything else is ignored.
    s.on('data', (d: Buffer) => {
      if (!key || p.connected || p.socket !== s) return
      helloBytes = Buffer.concat([helloBytes, d])
      if (helloBytes.length < HELLO_BYTES) return
      const answer = proof(key, helloBytes.subarray(0, HELLO_BYTES))
      if (!answer) {
        s.destroy(new Error('peer speaks another handshake version'))
        return
      }
      s.write(answer)
      ready()
    })
    s.on('timeout', () => s.destroy(new Error(p.connected ? 'idle' : 'connect timeout')))
    s.on('drain', () => {
      p.draining = false
      this.#unwatch(p)
      this.#flush(p)
    })
    s.on('error', (err) => {
      if (!p.connected || err.message !== 'idle') this.#fail(p, err)
    })
    s.on('close', () => {
      if (p.socket !== s) return
      this.#unwatch(p)
      const wasIdle = p.connected && p.queue.length === 0
      p.socket = null
      p.connected = false
      p.draining = false
      if (!wasIdle && p.retryAt <= Date.now()) this.#fail(p, new Error('connection closed'))
      this.#releaseWaiters(p)
    })
  }

  #fail(p: Outbound, err: Error): void {
    p.failures++
    this.#stats.connectFailures++
    const now = Date.now()
    const o = this.#o
    const cap = backoffCap(p.lastGood, now, o.recentMs, o.recentBackoffMaxMs, o.backoffMaxMs)
    p.retryAt = now + backoffDelay(p.failures, o.backoffBaseMs, cap, Math.random)
    this.#stats.dropped += p.queue.length
    p.queue = []
    p.queued = 0
    if (p.failures === 1 || p.failures % 20 === 0) {
      this.#o.logger.debug({ peer: p.addr, failures: p.failures, err: err.message }, 'peer connection failed')
    }
    this.#releaseWaiters(p)
  }

  #scheduleFlush(p: Outbound): void {
    if (p.flushScheduled) return
    p.flushScheduled = true
    setImmediate(() => {
      p.flushScheduled = false
      this.#flush(p)
    })
  }

  #flush(p: Outbound): void {
    const s = p.socket
    if (!s || !p.connected || p.draining || p.queue.length === 0) {
      if (p.queue.length === 0) this.#releaseWaiters(p)
      return
    }
    const buf = p.queue.length === 1 ? (p.queue[0] as Buffer) : Buffer.concat(p.queue, p.queued)
    this.#stats.framesOut += p.queue.length
    this.#stats.bytesOut += buf.length
    p.queue = []
    p.queued = 0
    // write() returning false means the kernel buffer is full: wait for 'drain'
    // and keep queueing (bounded by maxQueueBytes) meanwhile.
    if (!s.write(buf)) {
      p.draining = true
      this.#watch(p, s)
    } else this.#releaseWaiters(p)
  }

  // While bytes wait for 'drain', check every writeStallMs that some were
  // written since the last check; a socket that made no progress is closed
  // (its messages are dropped and counted; anti-entropy repairs them).
  #watch(p: Outbound, s: net.Socket): void {
    if (p.stallTimer) return
    let mark = s.writableLength
    const check = (): void => {
      if (p.socket !== s || !p.draining) {
        p.stallTimer = undefined
        return
      }
      if (s.writableLength >= mark) {
        p.stallTimer = undefined
        this.#stats.writeStalls++
        s.destroy(new Error('write stalled'))
        return
      }
      mark = s.writableLength
      p.stallTimer = setTimeout(check, this.#o.writeStallMs)
    }
    p.stallTimer = setTimeout(check, this.#o.writeStallMs)
  }

  #unwatch(p: Outbound): void {
    clearTimeout(p.stallTimer)
    p.stallTimer = undefined
  }

  heard(addr: string): void {
    const p = this.#peers.get(addr)
    if (!p) return
    p.lastGood = Date.now()
    if (!p.socket) {
      p.failures = 0
      p.retryAt = 0
    }
  }

  drop(addr: string): void {
    const p = this.#peers.get(addr)
    if (!p?.socket) return
    const s = p.socket
    p.socket = null
    p.connected = false
    p.draining = false
    this.#unwatch(p)
    this.#stats.dropped += p.queue.length
    this.#stats.linksDropped++
    p.queue = []
    p.queued = 0
    s.destroy()
    this.#releaseWaiters(p)
  }

  #releaseWaiters(p: Outbound): void {
    if (p.queue.length > 0 && p.socket) return
    const w = p.drainWaiters
    p.drainWaiters = []
    for (const f of w) f()
  }

  async flush(timeoutMs: number): Promise<void> {
    const waits: Promise<void>[] = []
    for (const p of this.#peers.values()) {
      if (p.queue.length === 0 && !p.draining) continue
      waits.push(new Promise((r) => p.drainWaiters.push(r)))
    }
    if (waits.length === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs)
      }),
    ])
    clearTimeout(timer)
  }

  #accept(s: net.Socket): void {
    if (this.#closed) {
      s.destroy()
      return
    }
    this.#inbound.add(s)
    s.on('close', () => this.#inbound.delete(s))
    serveInbound(s, {
      maxFrameBytes: this.#o.maxFrameBytes,
      key: this.#key,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      readTimeoutMs: this.#o.readTimeoutMs,
      keepAliveMs: this.#o.keepAliveMs,
      budget: this.#budget,
      stats: this.#stats,
      logger: this.#o.logger,
      handler: (msg, remote) => this.#handler(msg, remote),
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const p of this.#peers.values()) {
      this.#unwatch(p)
      p.socket?.end()
      p.socket?.destroy()
      this.#releaseWaiters(p)
    }
    for (const s of this.#inbound) s.destroy()
    await new Promise<void>((r) => this.#server.close(() => r()))
  }
}
