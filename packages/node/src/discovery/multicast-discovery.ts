import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import dgram from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Logger } from 'pino'
import { type DiscoveredPeer, PEER_ADDR_RE, PEER_ID_RE, type SelfRegistration } from './discovery-wire.js'

/** Default multicast group (organisation-local scope, RFC 2365). */
export const DEFAULT_MULTICAST_GROUP = '239.255.77.77'
/** Default UDP port of the announcements. */
export const DEFAULT_MULTICAST_PORT = 7700
/** Largest datagram considered; bigger ones are dropped unread. */
export const MAX_DATAGRAM_BYTES = 2048
/** With a cluster key, announcements whose timestamp is further than this from our clock are refused (replay bound). */
export const DEFAULT_MAX_SKEW_MS = 30_000

/** One decoded announcement. `leave` is sent on graceful stop. */
export interface Announcement {
  readonly t: 'announce' | 'leave'
  readonly id: string
  readonly addr: string
  readonly http: string
  /** Sender clock, epoch ms. */
  readonly ts: number
  /** Random nonce so two announcements never share a tag. */
  readonly n: string
}

/** Why a datagram was ignored; each has a counter in `stats()`. */
export type RejectReason = 'too-large' | 'malformed' | 'bad-tag' | 'stale'

const HTTP_RE = /^https?:\/\/[^\s]{1,2040}$/
const NONCE_RE = /^[0-9a-f]{16}$/
const TAG_RE = /^[0-9a-f]{64}$/

function canonical(a: Announcement): string {
  return JSON.stringify([1, a.t, a.id, a.addr, a.http, a.ts, a.n])
}

function tagOf(a: Announcement, key: string): string {
  return createHmac('sha256', key).update(canonical(a)).digest('hex')
}

/**
 * Pure: the datagram for `a`, tagged with HMAC-SHA256 under `key` when given.
 * Throws RangeError when the result would exceed `MAX_DATAGRAM_BYTES`.
 */
export function encodeAnnouncement(a: Announcement, key?: string): Buffer {
  const msg: Record<string, unknown> = {
    v: 1,
    t: a.t,
    id: a.id,
    addr: a.addr,
    http: a.http,
    ts: a.ts,
    n: a.n,
  }
  if (key !== undefined) msg.tag = tagOf(a, key)
  const buf = Buffer.from(JSON.stringify(msg), 'utf8')
  if (buf.byteLength > MAX_DATAGRAM_BYTES) throw new RangeError('announcement too large')
  return buf
}

/**
 * Pure: decodes and checks an untrusted datagram. With a `key`, the tag must
 * verify (constant-time) and `ts` be within `maxSkewMs` of `now`. Without a
 * key, tags are ignored. Never throws.
 */
export function decodeAnnouncement(
  buf: Buffer,
  opts: { key?: string; now: number; maxSkewMs?: number },
): { ok: true; msg: Announcement } | { ok: false; reason: RejectReason } {
  if (buf.byteLength > MAX_DATAGRAM_BYTES) return { ok: false, reason: 'too-large' }
  let raw: unknown
  try {
    raw = JSON.parse(buf.toString('utf8'))
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'malformed' }
  const r = raw as Record<string, unknown>
  const { t, id, addr, http, ts, n } = r
  if (
    r.v !== 1 ||
    (t !== 'announce' && t !== 'leave') ||
    typeof id !== 'string' ||
    !PEER_ID_RE.test(id) ||
    id === '__proto__' ||
    typeof addr !== 'string' ||
    !PEER_ADDR_RE.test(addr) ||
    !validPort(addr) ||
    typeof http !== 'string' ||
    !HTTP_RE.test(http) ||
    typeof ts !== 'number' ||
    !Number.isSafeInteger(ts) ||
    typeof n !== 'string' ||
    !NONCE_RE.test(n)
  ) {
    return { ok: false, reason: 'malformed' }
  }
  const msg: Announcement = { t, id, addr, http, ts, n }
  if (opts.key !== undefined) {
    const tag = r.tag
    if (typeof tag !== 'string' || !TAG_RE.test(tag)) return { ok: false, reason: 'bad-tag' }
    const want = Buffer.from(tagOf(msg, opts.key), 'hex')
    if (!timingSafeEqual(want, Buffer.from(tag, 'hex'))) return { ok: false, reason: 'bad-tag' }
    if (Math.abs(opts.now - ts) > (opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS))
      return { ok: false, reason: 'stale' }
  }
  return { ok: true, msg }
}

function validPort(addr: string): boolean {
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1))
  return port >= 1 && port <= 65535
}

/** Pure: ids last heard more than `expiryMs` before `now`. */
export function expiredPeers(
  lastHeard: ReadonlyMap<string, number>,
  now: number,
  expiryMs: number,
): string[] {
  const out: string[] = []
  for (const [id, at] of lastHeard) if (now - at > expiryMs) out.push(id)
  return out
}

/**
 * Pure: the multicast interface implied by a gossip address: its host when
 * that is a specific IPv4 address, else undefined (let the OS choose).
 */
export function defaultInterface(addr: string): string | undefined {
  const host = addr.slice(0, addr.lastIndexOf(':'))
  return isIPv4(host) && host !== '0.0.0.0' ? host : undefined
}

/** Options of `MulticastDiscovery`. */
export interface MulticastDiscoveryOptions {
  readonly self: SelfRegistration
  /** Announcement period, ms (> 0). */
  readonly heartbeatIntervalMs: number
  readonly logger: Logger
  /** Same contract as `DiscoveryClient`'s: full sorted list on change, self excluded. */
  readonly onPeers: (peers: DiscoveredPeer[]) => void
  /** Enables HMAC-SHA256 tags; untagged or wrongly tagged announcements are ignored. */
  readonly clusterKey?: string
  /** IPv4 multicast group (default 239.255.77.77). */
  readonly group?: string
  /** UDP port (default 7700). */
  readonly port?: number
  /**
   * IPv4 address of the interface to join and send on. Default: the host of
   * `self.addr` when it is an IPv4 literal (announce where we are reachable;
   * 127.0.0.1 keeps everything on loopback), else the OS's choice.
   */
  readonly interface?: string
  /** A peer not heard for this long is dropped, ms (default 3 × heartbeatIntervalMs). */
  readonly expiryMs?: number
  /** Replay window for keyed announcements, ms (default 30 s). */
  readonly maxSkewMs?: number
  /** Epoch-ms clock (tests). */
  readonly now?: () => number
}

/**
 * Serverless discovery on one LAN segment: every node multicasts
 * `{id, addr, http}` each interval (TTL 1, loopback on, so nodes on one host
 * see each other) and listens on the same group. Peers not re-announced
 * within `expiryMs` are dropped; a graceful `stop()` multicasts `leave` so
 * peers drop it at once. Hostile datagrams are counted and ignored. No
 * method throws after construction; socket errors are logged.
 */
export class MulticastDiscovery {
  readonly #o: MulticastDiscoveryOptions
  readonly #group: string
  readonly #port: number
  readonly #expiryMs: number
  readonly #iface: string | undefined
  readonly #now: () => number
  readonly #peers = new Map<string, DiscoveredPeer>()
  readonly #lastHeard = new Map<string, number>()
  readonly #stats = {
    received: 0,
    accepted: 0,
    self: 0,
    rejected: { 'too-large': 0, malformed: 0, 'bad-tag': 0, stale: 0 },
  }
  #socket: dgram.Socket | undefined
  #timer: NodeJS.Timeout | undefined
  #ready = false
  #stopped = false
  #lastPublished: string | undefined

  /** Validates options (RangeError/TypeError on programmer mistakes); no I/O until `start()`. */
  constructor(opts: MulticastDiscoveryOptions) {
    if (!(opts.heartbeatIntervalMs > 0)) throw new RangeError('heartbeatIntervalMs must be > 0')
    this.#o = opts
    this.#group = opts.group ?? DEFAULT_MULTICAST_GROUP
    this.#port = opts.port ?? DEFAULT_MULTICAST_PORT
    if (!Number.isInteger(this.#port) || this.#port < 1 || this.#port > 65535)
      throw new RangeError('bad port')
    this.#expiryMs = opts.expiryMs ?? 3 * opts.heartbeatIntervalMs
    this.#now = opts.now ?? Date.now
    this.#iface = opts.interface ?? defaultInterface(opts.self.addr)
    // Fail early on a self registration that peers would reject.
    encodeAnnouncement(this.#announcement('announce'), opts.clusterKey)
  }

  /** Counters of received datagrams and why some were ignored. */
  stats(): { received: number; accepted: number; self: number; rejected: Record<RejectReason, number> } {
    return { ...this.#stats, rejected: { ...this.#stats.rejected } }
  }

  /** Binds, joins the group and starts announcing. Returns immediately; idempotent. */
  start(): void {
    if (this.#socket !== undefined || this.#stopped) return
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    this.#socket = socket
    socket.on('error', (err) => this.#o.logger.warn({ err: err.message }, 'multicast socket error'))
    socket.on('message', (buf) => this.#receive(buf))
    socket.bind(this.#port, () => {
      if (this.#stopped) return
      try {
        socket.addMembership(this.#group, this.#iface)
        socket.setMulticastTTL(1)
        socket.setMulticastLoopback(true)
        if (this.#iface !== undefined) socket.setMulticastInterface(this.#iface)
        this.#ready = true
        this.#o.logger.info({ group: this.#group, port: this.#port }, 'multicast discovery joined')
      } catch (err) {
        this.#o.logger.error(
          { err: (err as Error).message },
          'cannot join multicast group; multicast discovery off',
        )
        return
      }
      this.#tick()
    })
  }

  /** Multicasts `leave` (best effort), leaves the group and closes. Resolves within ~1 s; never rejects. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#timer)
    const socket = this.#socket
    if (socket === undefined) return
    if (this.#ready) await this.#send('leave', 500)
    try {
      socket.close()
    } catch {
      // already closed
    }
  }

  #announcement(t: 'announce' | 'leave'): Announcement {
    const { id, addr, http } = this.#o.self
    return { t, id, addr, http, ts: this.#now(), n: randomBytes(8).toString('hex') }
  }

  #send(t: 'announce' | 'leave', timeoutMs = this.#o.heartbeatIntervalMs): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      try {
        const buf = encodeAnnouncement(this.#announcement(t), this.#o.clusterKey)
        this.#socket!.send(buf, this.#port, this.#group, (err) => {
          if (err) this.#o.logger.debug({ err: err.message }, 'multicast send failed')
          clearTimeout(timer)
          resolve()
        })
      } catch (err) {
        this.#o.logger.debug({ err: (err as Error).message }, 'multicast send failed')
        clearTimeout(timer)
        resolve()
      }
    })
  }

  #tick(): void {
    if (this.#stopped) return
    void this.#send('announce')
    const gone = expiredPeers(this.#lastHeard, this.#now(), this.#expiryMs)
    for (const id of gone) {
      this.#peers.delete(id)
      this.#lastHeard.delete(id)
    }
    if (gone.length > 0) this.#o.logger.info({ ids: gone }, 'multicast peers expired')
    this.#publish()
    const interval = this.#o.heartbeatIntervalMs
    this.#timer = setTimeout(() => this.#tick(), Math.round(interval * (0.8 + 0.2 * Math.random())))
    this.#timer.unref()
  }

  #receive(buf: Buffer): void {
    if (this.#stopped) return
    this.#stats.received++
    const now = this.#now()
    const res = decodeAnnouncement(buf, {
      ...(this.#o.clusterKey === undefined ? {} : { key: this.#o.clusterKey }),
      now,
      ...(this.#o.maxSkewMs === undefined ? {} : { maxSkewMs: this.#o.maxSkewMs }),
    })
    if (!res.ok) {
      this.#stats.rejected[res.reason]++
      return
    }
    const m = res.msg
    if (m.id === this.#o.self.id) {
      this.#stats.self++
      return
    }
    this.#stats.accepted++
    if (m.t === 'leave') {
      this.#peers.delete(m.id)
      this.#lastHeard.delete(m.id)
    } else {
      if (!this.#peers.has(m.id)) this.#o.logger.info({ id: m.id, addr: m.addr }, 'multicast peer discovered')
      this.#peers.set(m.id, { id: m.id, addr: m.addr, http: m.http })
      this.#lastHeard.set(m.id, now)
    }
    this.#publish()
  }

  #publish(): void {
    if (this.#stopped) return
    const list = [...this.#peers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const key = JSON.stringify(list)
    if (key === this.#lastPublished) return
    this.#lastPublished = key
    try {
      this.#o.onPeers(list)
    } catch (err) {
      this.#o.logger.error({ err }, 'onPeers threw')
    }
  }
}
