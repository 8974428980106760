import { randomBytes } from 'node:crypto'

/** One registered node as the registry holds it. Times are epoch milliseconds. */
export interface PeerEntry {
  readonly id: string
  /** Gossip address `host:port` (validated on the way in). */
  readonly addr: string
  /** HTTP base URL of the node. */
  readonly http: string
  /** Last register or heartbeat, epoch ms. */
  readonly lastSeen: number
  /** First registration of this id since it was last absent, epoch ms. */
  readonly registeredAt: number
}

/** What `GET /peers` returns for one entry. */
export interface PeerView {
  readonly id: string
  readonly addr: string
  readonly http: string
  /** ISO 8601 time of the last register or heartbeat. */
  readonly lastSeen: string
  /** Always `alive`: expired entries are removed, never listed. */
  readonly status: 'alive'
}

/** Milliseconds since the epoch; injected so tests control time. */
export interface Clock {
  now(): number
}

/**
 * Monotonic epoch clock: `performance.timeOrigin + performance.now()` does not
 * jump when the wall clock is stepped, so an NTP correction cannot expire the
 * whole table at once.
 */
export const monotonicClock: Clock = { now: () => performance.timeOrigin + performance.now() }

/**
 * Pure expiry rule: the ids whose last contact is more than `ttlMs` before
 * `now` (an entry seen exactly `ttlMs` ago is still alive). Does not mutate
 * `table`; never throws. O(n).
 */
export function expire(table: ReadonlyMap<string, PeerEntry>, now: number, ttlMs: number): string[] {
  const out: string[] = []
  for (const entry of table.values()) {
    if (now - entry.lastSeen > ttlMs) out.push(entry.id)
  }
  return out
}

/** True when `entry` is alive at `now` under `ttlMs` (the negation of the expiry rule). */
export function isAlive(entry: PeerEntry, now: number, ttlMs: number): boolean {
  return now - entry.lastSeen <= ttlMs
}

/** Result of `Registry.register`. */
export type RegisterOutcome = 'created' | 'updated' | 'full'

/**
 * The registry table: a thin mutable shell around the pure rules above.
 * Synchronous and O(1) per call except `sweep` and `list` (O(n), O(n log n)).
 * Callers validate input first; the registry trusts its arguments.
 */
export class Registry {
  readonly #table = new Map<string, PeerEntry>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #clock: Clock
  // Ids in list order; rebuilt only when an id is added or removed, since
  // heartbeats (the common write) never change the order.
  #sorted: string[] | undefined
  // Membership version: a random per-process prefix (so a restarted registry
  // never repeats an old version) and a counter bumped whenever the set of
  // ids or an address changes. Heartbeats do not bump it.
  readonly #boot = randomBytes(4).toString('hex')
  #changes = 0
  #expired = 0

  /** `ttlMs` > 0: entries older than this are dropped; `maxEntries` ≥ 1 bounds memory. */
  constructor(opts: { ttlMs: number; maxEntries: number; clock?: Clock }) {
    if (!(opts.ttlMs > 0)) throw new RangeError('ttlMs must be > 0')
    if (!(opts.maxEntries >= 1)) throw new RangeError('maxEntries must be >= 1')
    this.#ttlMs = opts.ttlMs
    this.#maxEntries = opts.maxEntries
    this.#clock = opts.clock ?? monotonicClock
  }

  /** Entries dropped because they expired (swept, or found expired by a heartbeat), since start. */
  get expiredTotal(): number {
    return this.#expired
  }

  /** Number of entries held, expired-but-unswept included. */
  get size(): number {
    return this.#table.size
  }

  /**
   * Adds or replaces the entry for `id` and marks it seen now. When the table
   * is full of live entries and `id` is new, returns `full` and changes nothing.
   */
  register(reg: { id: string; addr: string; http: string }): RegisterOutcome {
    const now = this.#clock.now()
    const old = this.#table.get(reg.id)
    if (old === undefined && this.#table.size >= this.#maxEntries) {
      this.sweep()
      if (this.#table.size >= this.#maxEntries) return 'full'
    }
    const alive = old !== undefined && isAlive(old, now, this.#ttlMs)
    if (old === undefined) this.#sorted = undefined
    if (!alive || old.addr !== reg.addr || old.http !== reg.http) this.#changes++
    this.#table.set(reg.id, {
      id: reg.id,
      addr: reg.addr,
      http: reg.http,
      lastSeen: now,
      registeredAt: alive ? old.registeredAt : now,
    })
    return alive ? 'updated' : 'created'
  }

  /** Marks `id` seen now. False (and no change) when `id` is unknown or already expired. */
  heartbeat(id: string): boolean {
    const now = this.#clock.now()
    const entry = this.#table.get(id)
    if (entry === undefined) return false
    if (!isAlive(entry, now, this.#ttlMs)) {
      this.#delete(id)
      this.#expired++
      return false
    }
    this.#table.set(id, { ...entry, lastSeen: now })
    return true
  }

  /** Removes `id`. False when it was not held (or had already expired). */
  remove(id: string): boolean {
    const entry = this.#table.get(id)
    if (entry === undefined) return false
    this.#delete(id)
    return isAlive(entry, this.#clock.now(), this.#ttlMs)
  }

  /** Drops every expired entry; returns the dropped ids. */
  sweep(): string[] {
    const gone = expire(this.#table, this.#clock.now(), this.#ttlMs)
    for (const id of gone) this.#delete(id)
    this.#expired += gone.length
    return gone
  }

  /** Number of live entries. O(n), no allocation. */
  liveCount(): number {
    const now = this.#clock.now()
    let n = 0
    for (const e of this.#table.values()) if (isAlive(e, now, this.#ttlMs)) n++
    return n
  }

  /**
   * Opaque membership version: equal versions from one registry mean the same
   * ids and addresses (entries that expired but were not yet swept aside), so
   * a client can skip re-reading an unchanged list.
   */
  get version(): string {
    return `${this.#boot}.${this.#changes}`
  }

  #delete(id: string): void {
    this.#table.delete(id)
    this.#sorted = undefined
    this.#changes++
  }

  /** Live entries sorted by id (code-unit order, stable across calls). */
  list(): PeerView[] {
    const now = this.#clock.now()
    this.#sorted ??= [...this.#table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const views: PeerView[] = []
    for (const id of this.#sorted) {
      const e = this.#table.get(id)!
      if (!isAlive(e, now, this.#ttlMs)) continue
      views.push({
        id: e.id,
        addr: e.addr,
        http: e.http,
        lastSeen: new Date(Math.round(e.lastSeen)).toISOString(),
        status: 'alive',
      })
    }
    return views
  }
}
