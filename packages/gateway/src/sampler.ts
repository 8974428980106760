// The dashboard's poller: once a second, asks every node the registry holds
// for `GET /stats`, `GET /metrics` and `GET /counter` (in parallel, short
// timeout), keeps the last answer of each, folds the registry into the node
// history, and adds one cluster sample to a bounded 15-minute ring. Thin I/O
// shell over cluster-series.ts and node-history.ts.

import {
  type ClusterSample,
  type NodePoll,
  SampleRing,
  sampleCluster,
  type Verdict,
  verdictOf,
} from './cluster-series.js'
import type { NodeHistory } from './node-history.js'
import { parseWriteCounts } from './prom-text.js'
import type { NodeEntry, Registry } from './registry.js'
import { send, UpstreamError } from './upstream.js'

/** What the dashboard shows of one node, from its last answered poll. */
export interface NodeDetail extends NodePoll {
  readonly peers: { live: number; suspect: number; dead: number } | undefined
  readonly eventLoopDelayMs: number | undefined
  /** The node's `tally_replication_lag_max_seconds`. */
  readonly lagSeconds: number | undefined
}

/** Options of {@link Sampler}. */
export interface SamplerOptions {
  /** Time budget of one poll of one node, ms. */
  readonly timeoutMs: number
  /** Samples kept (one per poll). */
  readonly capacity: number
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0
}

/** Reads the fields of a node's `/stats` body the dashboard uses. Pure, never throws. */
export function parseStats(json: unknown): Pick<NodeDetail, 'digest' | 'peers' | 'eventLoopDelayMs'> {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>
  const p = (typeof o.peers === 'object' && o.peers !== null ? o.peers : {}) as Record<string, unknown>
  const l = (typeof o.load === 'object' && o.load !== null ? o.load : {}) as Record<string, unknown>
  return {
    digest: typeof o.digest === 'string' && o.digest.length <= 200 ? o.digest : undefined,
    peers:
      isCount(p.live) && isCount(p.suspect) && isCount(p.dead)
        ? { live: p.live, suspect: p.suspect, dead: p.dead }
        : undefined,
    eventLoopDelayMs: isCount(l.eventLoopDelayMs) ? l.eventLoopDelayMs : undefined,
  }
}

/** The poller and its ring. One per gateway. */
export class Sampler {
  readonly #registry: Registry
  readonly #history: NodeHistory
  readonly #o: SamplerOptions
  readonly ring: SampleRing
  #polls = new Map<string, NodeDetail>()
  readonly #errors = new Map<string, string>()
  #lastChangeAt: number
  #lastDigests = ''

  constructor(registry: Registry, history: NodeHistory, o: SamplerOptions) {
    this.#registry = registry
    this.#history = history
    this.#o = o
    this.ring = new SampleRing(o.capacity)
    this.#lastChangeAt = registry.now()
  }

  /** Polls every node once, then updates history, verdict and ring. Never rejects. */
  async tick(): Promise<void> {
    const nodes = this.#registry.list()
    const results = await Promise.all(nodes.map((e) => this.#poll(e)))
    const now = this.#registry.now()
    const next = new Map<string, NodeDetail>()
    this.#errors.clear()
    nodes.forEach((e, i) => {
      const r = results[i]
      if (typeof r === 'string') this.#errors.set(e.key, r)
      else if (r !== undefined) next.set(e.key, r)
    })
    this.refreshHistory()
    for (const [key, r] of next) this.#history.seen(key, r.at, r.value)
    const sample: ClusterSample = sampleCluster(this.#polls, next, now)
    this.#polls = next
    this.ring.push(sample)
    const digests = [...next.entries()].map(([k, p]) => `${k}=${p.digest}:${p.value}`).join(',')
    if (digests !== this.#lastDigests) {
      this.#lastDigests = digests
      this.#lastChangeAt = now
    }
  }

  /** Folds the registry's current health into the node history (cheap, synchronous). */
  refreshHistory(): void {
    const views = this.#registry.list().map((e) => ({
      key: e.key,
      id: e.id,
      health: e.health.health,
      ejections: e.health.ejections,
      lastError: e.health.lastError,
    }))
    this.#history.update(views, this.#registry.now(), this.#errors)
  }

  /** The last answered poll of node `key`, if any. */
  detail(key: string): NodeDetail | undefined {
    return this.#polls.get(key)
  }

  /** The verdict over the last poll, and when the nodes' digests or values last changed (ms). */
  verdict(): Verdict & { lastChangeAt: number } {
    return { ...verdictOf(this.#polls), lastChangeAt: this.#lastChangeAt }
  }

  // One node's poll: its detail, or why it failed; undefined for an ejected node (not polled).
  async #poll(e: NodeEntry): Promise<NodeDetail | string | undefined> {
    if (e.health.health === 'ejected') return undefined
    const timeoutMs = this.#o.timeoutMs
    try {
      const [stats, metrics, counter] = await Promise.all([
        send(e.pool, { method: 'GET', path: '/stats', timeoutMs }),
        send(e.pool, { method: 'GET', path: '/metrics', timeoutMs }),
        send(e.pool, { method: 'GET', path: '/counter', timeoutMs }),
      ])
      if (stats.status !== 200) return `stats poll: HTTP ${stats.status}`
      const v = (counter.json as { value?: unknown } | undefined)?.value
      const writes = metrics.status === 200 ? parseWriteCounts(metrics.text) : undefined
      return {
        at: this.#registry.now(),
        value: counter.status === 200 && typeof v === 'number' ? v : undefined,
        ...parseStats(stats.json),
        writes,
        lagSeconds: writes?.lagSeconds,
      }
    } catch (err) {
      return `stats poll: ${err instanceof UpstreamError ? `${err.kind}: ${err.message}` : String(err)}`
    }
  }
}
