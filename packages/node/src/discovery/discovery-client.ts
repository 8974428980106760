import type { Logger } from 'pino'
import {
  type DiscoveredPeer,
  errorDetail,
  MAX_RESPONSE_BYTES,
  mergePeerLists,
  readLimited,
  readPeerList,
  type SelfRegistration,
  versionOf,
} from './discovery-wire.js'

export type { DiscoveredPeer, SelfRegistration } from './discovery-wire.js'
export { mergePeerLists, readPeerList } from './discovery-wire.js'

/** Options of `DiscoveryClient`. */
export interface DiscoveryClientOptions {
  /** Discovery base URLs; each is registered with independently (redundancy, see class doc). */
  readonly urls: string[]
  readonly self: SelfRegistration
  /** Heartbeat period, ms (> 0). Also the longest wait between retries. */
  readonly heartbeatIntervalMs: number
  /** Sent as `Authorization: Bearer <token>` on every request. */
  readonly token?: string
  readonly logger: Logger
  /**
   * Receives the full current peer list (replace semantics, sorted by id, self
   * excluded) whenever it changes. Called only after a successful fetch, never
   * because a server failed, so an outage never empties the list. Exceptions
   * it throws are logged and swallowed.
   */
  readonly onPeers: (peers: DiscoveredPeer[]) => void
  /** Injectable fetch (tests); default global fetch. */
  readonly fetch?: typeof fetch
  /** Per-request timeout, ms (default heartbeatIntervalMs clamped to 1000–5000). */
  readonly requestTimeoutMs?: number
  /** Bound on `stop()` (deregistration), ms (default 1000). */
  readonly stopTimeoutMs?: number
  /** Randomness in [0, 1) for jitter (tests). */
  readonly random?: () => number
}

/**
 * Pure: wait before the next attempt after `failures` consecutive failures
 * (≥ 1): exponential from 100 ms, capped at `intervalMs`, equal jitter. The
 * cap is the heartbeat interval so a registry that comes back is re-populated
 * within one interval; at one request per interval a down server is not
 * hammered anyway.
 */
export function retryDelay(failures: number, intervalMs: number, rand: number): number {
  const exp = Math.min(intervalMs, Math.min(100, intervalMs) * 2 ** Math.min(Math.max(failures - 1, 0), 20))
  return Math.round(exp / 2 + (exp / 2) * rand)
}

/** Even with an unchanged membership version, the list is re-read this often (ticks). */
export const REFRESH_TICKS = 30

interface Target {
  readonly base: string
  registered: boolean
  /** A registration was sent (its reply may have been lost): deregister on stop. */
  everRegistered: boolean
  /** Membership version of the list in `peers` (from the registry), when known. */
  version: string | undefined
  /** Ticks since `peers` was last fetched. */
  staleTicks: number
  failures: number
  peers: DiscoveredPeer[] | undefined
  timer: NodeJS.Timeout | undefined
  running: Promise<void> | undefined
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body = '',
  ) {
    super(`HTTP ${status}${errorDetail(body)}`)
  }
}

/**
 * Registers this node with one or more discovery servers, heartbeats every
 * `heartbeatIntervalMs`, and feeds the peer list to `onPeers`.
 *
 * Redundancy: servers are independent (they do not replicate), so the client
 * registers with *every* URL, each on its own loop, and `onPeers` gets the
 * union of the last list each server returned. One server down costs nothing.
 *
 * Per tick and server: register if not registered (the reply carries the
 * list), else heartbeat, then `GET /peers` only when the membership version
 * in the heartbeat reply moved (or every `REFRESH_TICKS`); a heartbeat 404
 * (restarted or expired registry) re-registers at once. Failures back off with jitter up to
 * one interval. Every request has a timeout. Nothing here is awaited by the
 * request path, and no timer callback can throw or reject.
 */
export class DiscoveryClient {
  readonly #opts: DiscoveryClientOptions
  readonly #fetch: typeof fetch
  readonly #rand: () => number
  readonly #timeoutMs: number
  readonly #targets: Target[]
  readonly #abort = new AbortController()
  #started = false
  #stopped = false
  #lastPublished: string | undefined

  /** Validates options (throws TypeError/RangeError on programmer mistakes); does no I/O. */
  constructor(opts: DiscoveryClientOptions) {
    if (opts.urls.length === 0) throw new RangeError('DiscoveryClient needs at least one URL')
    if (!(opts.heartbeatIntervalMs > 0)) throw new RangeError('heartbeatIntervalMs must be > 0')
    for (const u of opts.urls) {
      const url = new URL(u) // throws TypeError on garbage
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new TypeError(`not an http(s) URL: ${u}`)
    }
    this.#opts = opts
    this.#fetch = opts.fetch ?? globalThis.fetch
    this.#rand = opts.random ?? Math.random
    // Loops never overlap, so a timeout longer than the interval only delays the next tick.
    this.#timeoutMs = Math.max(
      10,
      opts.requestTimeoutMs ?? Math.min(Math.max(opts.heartbeatIntervalMs, 1000), 5000),
    )
    this.#targets = opts.urls.map((u) => ({
      base: u.replace(/\/+$/, ''),
      registered: false,
      everRegistered: false,
      version: undefined,
      staleTicks: 0,
      failures: 0,
      peers: undefined,
      timer: undefined,
      running: undefined,
    }))
  }

  /** Starts the loops (first registration right away). Returns immediately; idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return
    this.#started = true
    for (const t of this.#targets) this.#schedule(t, 0)
  }

  /** Per-server view for health endpoints and tests. */
  status(): Array<{ url: string; registered: boolean; failures: number }> {
    return this.#targets.map((t) => ({ url: t.base, registered: t.registered, failures: t.failures }))
  }

  /**
   * Stops the loops and deregisters (`DELETE /peers/:id`) from every server
   * it registered with, in parallel. Resolves within about `stopTimeoutMs`
   * whatever the servers do; never rejects.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#abort.abort()
    for (const t of this.#targets) clearTimeout(t.timer)
    const timeout = this.#opts.stopTimeoutMs ?? 1000
    // Bounded even against a fetch that ignores its abort signal.
    await withDeadline(Promise.allSettled(this.#targets.map((t) => t.running)), timeout)
    const path = `/peers/${encodeURIComponent(this.#opts.self.id)}`
    const deregister = Promise.allSettled(
      this.#targets
        .filter((t) => t.everRegistered)
        .map((t) =>
          this.#request(t, 'DELETE', path, undefined, AbortSignal.timeout(timeout)).then(
            () => this.#opts.logger.debug({ url: t.base }, 'deregistered from discovery'),
            (err: unknown) =>
              this.#opts.logger.debug({ url: t.base, err: String(err) }, 'deregistration failed'),
          ),
        ),
    )
    await withDeadline(deregister, timeout)
  }

  #schedule(t: Target, delay: number): void {
    if (this.#stopped) return
    t.timer = setTimeout(() => {
      t.running = this.#tick(t).finally(() => {
        t.running = undefined
      })
    }, delay)
    t.timer.unref()
  }

  async #tick(t: Target): Promise<void> {
    const interval = this.#opts.heartbeatIntervalMs
    let delay: number
    try {
      if (!t.registered) await this.#register(t)
      else {
        const hb = await this.#request(t, 'POST', '/heartbeat', { id: this.#opts.self.id })
        if (hb.status === 404) {
          this.#opts.logger.info({ url: t.base }, 'discovery forgot this node; registering again')
          t.registered = false
          await this.#register(t)
        } else if (hb.status < 200 || hb.status > 299) {
          throw new HttpStatusError(hb.status)
        } else {
          // The heartbeat reply carries the registry's membership version; the
          // list is re-read only when it moved (or every REFRESH_TICKS anyway).
          const version = versionOf(hb.body)
          t.staleTicks++
          if (
            version === undefined ||
            version !== t.version ||
            t.peers === undefined ||
            t.staleTicks >= REFRESH_TICKS
          ) {
            t.peers = readPeerList(await this.#json(t, 'GET', '/peers'), this.#opts.self.id)
            t.version = version
            t.staleTicks = 0
          }
        }
      }
      if (t.failures > 0) this.#opts.logger.info({ url: t.base }, 'discovery reachable again')
      t.failures = 0
      delay = Math.round(interval * (0.8 + 0.2 * this.#rand()))
    } catch (err) {
      if (this.#stopped) return
      t.failures++
      const log = { url: t.base, failures: t.failures, err: err instanceof Error ? err.message : String(err) }
      // 400/401 will not heal by retrying: a wrong token or a registration the
      // registry refuses is a configuration error, so say so loudly (once).
      const config = err instanceof HttpStatusError && (err.status === 400 || err.status === 401)
      if (t.failures === 1 && config)
        this.#opts.logger.error(log, 'discovery refused this node (check token/addresses)')
      else if (t.failures === 1) this.#opts.logger.warn(log, 'discovery request failed; keeping known peers')
      else this.#opts.logger.debug(log, 'discovery request failed')
      delay = retryDelay(t.failures, interval, this.#rand())
    }
    this.#publish()
    this.#schedule(t, delay)
  }

  async #register(t: Target): Promise<void> {
    const { id, addr, http } = this.#opts.self
    const first = !t.everRegistered
    t.everRegistered = true
    const body = await this.#json(t, 'POST', '/register', { id, addr, http })
    t.registered = true
    if (first) this.#opts.logger.info({ url: t.base }, 'registered with discovery')
    t.peers = readPeerList(body, id)
    t.version = versionOf(body)
    t.staleTicks = 0
  }

  #publish(): void {
    const lists = this.#targets.flatMap((t) => (t.peers === undefined ? [] : [t.peers]))
    if (lists.length === 0 || this.#stopped) return
    const merged = mergePeerLists(lists)
    const key = JSON.stringify(merged)
    if (key === this.#lastPublished) return
    this.#lastPublished = key
    try {
      this.#opts.onPeers(merged)
    } catch (err) {
      this.#opts.logger.error({ err }, 'onPeers threw')
    }
  }

  /** A request whose non-2xx status is an error; the body is parsed as JSON. */
  async #json(t: Target, method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.#request(t, method, path, body)
    if (res.status < 200 || res.status > 299) throw new HttpStatusError(res.status, res.body)
    return res.body === '' ? undefined : JSON.parse(res.body)
  }

  async #request(
    t: Target,
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.#opts.token !== undefined) headers.authorization = `Bearer ${this.#opts.token}`
    const res = await this.#fetch(t.base + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: signal ?? AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
    })
    return { status: res.status, body: await readLimited(res, MAX_RESPONSE_BYTES) }
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; never rejects. */
async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
    }),
  ])
  clearTimeout(timer)
}
