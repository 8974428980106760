// The set of nodes the gateway knows: the static `--nodes` list plus what
// discovery last reported, each with its connection pool, health record,
// reported load and the gateway's own in-flight count. Routing decisions are
// delegated to the pure strategy and health modules.

import type { Pool } from 'undici'
import {
  type HealthPolicy,
  type HealthState,
  INITIAL_HEALTH,
  isUsable,
  onFailure,
  onSuccess,
} from './health.js'
import { ReadChannel } from './read-channel.js'
import { readHome } from './read-home.js'
import {
  INITIAL_STRATEGY_STATE,
  leastLoaded,
  rendezvous,
  type Strategy,
  type StrategyState,
} from './strategies.js'
import { createPool } from './upstream.js'

/** Load a node reports in `GET /health`. */
export interface NodeLoad {
  readonly inflight: number
  readonly eventLoopDelayMs: number
}

/** One known node. Mutated only by the {@link Registry}. */
export interface NodeEntry {
  /** Origin URL, e.g. `http://127.0.0.1:8010`: the key. */
  readonly key: string
  /** Node id: from discovery, or learnt from its `/health`; undefined until known. */
  id: string | undefined
  fromStatic: boolean
  fromDiscovery: boolean
  /** Listed by the last DNS discovery answer. */
  fromDns: boolean
  /** Consecutive discovery answers that did not list this node. */
  missedPolls: number
  health: HealthState
  load: NodeLoad | undefined
  /** Requests the gateway has in flight to this node now. */
  inflight: number
  /** Writes, health checks, stats polls (and reads when `reads` is undefined). */
  readonly pool: Pool
  /** Pipelined reads (plain and consistency `GET`s) of an `http:` node; undefined for other origins. */
  readonly reads: ReadChannel | undefined
  /** Pipelined plain-level writes (`UpstreamRequest.pipelined`) of an `http:` node; undefined for other origins. */
  readonly writes: ReadChannel | undefined
}

/** Discovery answers in a row that may leave out a healthy node before it is dropped. */
export const MAX_MISSED_POLLS = 3

/** What discovery says about one node. */
export interface DiscoveredNode {
  readonly id: string
  /** Origin of its HTTP API. */
  readonly http: string
}

/** Where the registry and the forwarding layer report what happened (metrics); each call O(1), never throws. */
export interface RegistryEvents {
  /** One attempt on a node ended after `seconds`: answered (`ok`: 2xx or relayed 4xx) or `failed`. */
  attempt(seconds: number, outcome: 'ok' | 'failed'): void
  /** A request moved on to another node after a failed attempt. */
  retry(): void
  /** A usable node was ejected. */
  ejected(): void
}

const NO_EVENTS: RegistryEvents = { attempt() {}, retry() {}, ejected() {} }

/** Dependencies of a {@link Registry}; `now` and `rng` are injectable for tests. */
export interface RegistryOptions {
  readonly staticNodes: readonly string[]
  readonly strategy: Strategy
  readonly policy: HealthPolicy
  /** Per-attempt timeout, used for the pools' connect/headers/body timeouts, ms. */
  readonly requestTimeoutMs: number
  readonly now?: () => number
  readonly rng?: () => number
}

/** The gateway's node table. Not thread-shared; every method is synchronous except {@link close}. */
export class Registry {
  readonly #nodes = new Map<string, NodeEntry>()
  readonly #strategy: Strategy
  readonly #policy: HealthPolicy
  readonly #timeoutMs: number
  #strategyState: StrategyState = INITIAL_STRATEGY_STATE
  readonly now: () => number
  readonly rng: () => number
  /** Reported to by the registry and forward.ts; replace to observe (the gateway's metrics do). */
  events: RegistryEvents = NO_EVENTS

  constructor(opts: RegistryOptions) {
    this.#strategy = opts.strategy
    this.#policy = opts.policy
    this.#timeoutMs = opts.requestTimeoutMs
    this.now = opts.now ?? Date.now
    this.rng = opts.rng ?? Math.random
    for (const url of opts.staticNodes) this.#ensure(url).fromStatic = true
  }

  #ensure(key: string): NodeEntry {
    let e = this.#nodes.get(key)
    if (!e) {
      e = {
        key,
        id: undefined,
        fromStatic: false,
        fromDiscovery: false,
        fromDns: false,
        missedPolls: 0,
        health: INITIAL_HEALTH,
        load: undefined,
        inflight: 0,
        pool: createPool(key, this.#timeoutMs),
        reads: key.startsWith('http:') ? new ReadChannel(key) : undefined,
        writes: key.startsWith('http:') ? new ReadChannel(key) : undefined,
      }
      this.#nodes.set(key, e)
    }
    return e
  }

  /** Every known node, in insertion order. */
  list(): NodeEntry[] {
    return [...this.#nodes.values()]
  }

  /** Number of known nodes (N for quorum arithmetic), ejected ones included. */
  get size(): number {
    return this.#nodes.size
  }

  /** Number of nodes normal traffic may go to. */
  usableCount(): number {
    let n = 0
    for (const e of this.#nodes.values()) if (isUsable(e.health)) n++
    return n
  }

  /** Display id of a node: its id, or its URL while the id is unknown. */
  static label(e: NodeEntry): string {
    return e.id ?? e.key
  }

  /**
   * Merges a discovery answer: `nodes` are added or kept. A node no longer
   * reported (and not static) is dropped, its pool closed in the background,
   * at once if it is not usable (ejected by health checks), else once
   * MAX_MISSED_POLLS answers in a row have left it out. Ids from discovery
   * overwrite unknown ids only.
   */
  setDiscovered(nodes: readonly DiscoveredNode[]): void {
    const seen = new Set<string>()
    for (const d of nodes) {
      const e = this.#ensure(d.http)
      e.fromDiscovery = true
      e.missedPolls = 0
      if (e.id === undefined) e.id = d.id
      seen.add(d.http)
    }
    for (const e of this.#nodes.values()) {
      if (seen.has(e.key)) continue
      e.fromDiscovery = false
      e.missedPolls++
      // A healthy node missing from the list leaves only after MAX_MISSED_POLLS answers in a row:
      // a discovery server that just restarted answers an empty table until the nodes re-register
      // (one heartbeat), and must not take every healthy node away meanwhile.
      if (!e.fromStatic && !e.fromDns && (!isUsable(e.health) || e.missedPolls >= MAX_MISSED_POLLS)) {
        this.#nodes.delete(e.key)
        closeNode(e)
      }
    }
  }

  /**
   * Replaces the set of nodes DNS discovery lists (`origins`, HTTP origins;
   * ids are learnt from each node's `/health`). A node DNS no longer lists,
   * and that neither `--nodes` nor a discovery service names, is dropped at
   * once and its pool closed in the background: an answer reaches here only
   * when it is non-empty and well-formed (see `DnsWatcher`), so it is the
   * current truth, unlike a restarted discovery server's empty table.
   */
  setDnsNodes(origins: readonly string[]): void {
    const listed = new Set(origins)
    for (const o of listed) this.#ensure(o).fromDns = true
    for (const e of this.#nodes.values()) {
      if (listed.has(e.key) || !e.fromDns) continue
      e.fromDns = false
      if (!e.fromStatic && !e.fromDiscovery) {
        this.#nodes.delete(e.key)
        closeNode(e)
      }
    }
  }

  /**
   * Chooses the node for the next attempt with the strategy, among nodes not
   * in `tried`: usable ones first; when none is left, ejected ones as a last
   * resort (so a request still has a chance while every node is marked down,
   * and its success brings the node back). With an `affinity` key the choice
   * is {@link rendezvous} on it instead of the strategy, so the same key goes
   * to the same node. Undefined when every node was tried.
   */
  pick(tried: ReadonlySet<string>, affinity?: string): NodeEntry | undefined {
    const pool = this.#candidates(tried)
    if (affinity !== undefined) return rendezvous(pool, affinity)
    const { node, state } = this.#strategy(pool, this.#strategyState, this.rng)
    this.#strategyState = state
    return node
  }

  /**
   * Chooses the node for the next attempt of a plain read whose home key is
   * `home` (`homeKey` of read-home.ts), among the same candidates as
   * {@link pick}: the read's home ({@link readHome}: rendezvous on the key;
   * under `least-loaded`, only among candidates within `HOME_SLACK` of the
   * least loaded). Undefined when every node was tried.
   */
  pickRead(tried: ReadonlySet<string>, home: string): NodeEntry | undefined {
    return readHome(this.#candidates(tried), home, this.#strategy === leastLoaded)
  }

  // Nodes not in `tried`: the usable ones, or every one of them when none is usable.
  #candidates(tried: ReadonlySet<string>): NodeEntry[] {
    // One pass, no intermediate copies (this runs once per node request).
    const fresh: NodeEntry[] = []
    const usable: NodeEntry[] = []
    for (const e of this.#nodes.values()) {
      if (tried.has(e.key)) continue
      fresh.push(e)
      if (isUsable(e.health)) usable.push(e)
    }
    return usable.length > 0 ? usable : fresh
  }

  /** Records a successful exchange (check or request) with `e`. */
  markSuccess(e: NodeEntry): void {
    e.health = onSuccess(e.health, this.now())
  }

  /** Records a failed exchange with `e` (ejects it). */
  markFailure(e: NodeEntry, reason: string): void {
    if (isUsable(e.health)) this.events.ejected()
    e.health = onFailure(e.health, this.now(), this.#policy, reason)
  }

  /** Closes every node's connections. Resolves when in-flight requests have finished. */
  async close(): Promise<void> {
    const nodes = this.list()
    this.#nodes.clear()
    await Promise.all(nodes.map(closeNode))
  }
}

// Closes a node's connections (in-flight requests finish first). Never rejects.
function closeNode(e: NodeEntry): Promise<void> {
  return Promise.all([e.pool.close().catch(() => {}), e.reads?.close(), e.writes?.close()]).then(() => {})
}
