// The gateway service: the node registry, its background loops, and the
// request operations the routes call (write with failover, read from one
// node, consistency read merging several replicas).

import { randomUUID } from 'node:crypto'
import { isTallyError } from '@tally/crdt'
import { type Consistency, DEFAULT_QUORUM_TIMEOUT_MS, type DnsWatcher, requiredReplicas } from '@tally/kit'
import { checkAll, type Log, Loop, refreshDiscovery } from './background.js'
import { replicaTotals, stateValue } from './consistency.js'
import { type DnsSourceOptions, dnsSource } from './dns-source.js'
import { GatewayError } from './errors.js'
import { type ForwardLimits, forward, gather, type Served } from './forward.js'
import { gatewayMetrics } from './gateway-metrics.js'
import { policyFor } from './health.js'
import { mergeMarkedStates, safeValue } from './marked-state.js'
import { NodeHistory } from './node-history.js'
import { ReadCoalescer } from './read-coalescer.js'
import { homeKey } from './read-home.js'
import { Registry } from './registry.js'
import { Sampler } from './sampler.js'
import { type StrategyName, strategyFor } from './strategies.js'
import { beforeSend } from './turn-end.js'

/** Everything the gateway service needs; `now`/`rng` are injectable for tests. */
export interface GatewayOptions {
  /** Static node origins. */
  readonly nodes: readonly string[]
  /** Discovery origins. */
  readonly discovery: readonly string[]
  readonly discoveryToken?: string | undefined
  /** DNS discovery (`--discovery dns:…`): the nodes are what the name lists. */
  readonly dns?: DnsSourceOptions | undefined
  readonly strategy: StrategyName
  readonly requestTimeoutMs: number
  readonly healthIntervalMs: number
  readonly discoveryIntervalMs: number
  readonly maxAttempts: number
  readonly deadlineMs: number
  /**
   * The nodes' --quorum-timeout (default 2000 ms): a quorum/all write waits
   * that long for acks before the node answers 504, so such an attempt gets
   * that much more time than `requestTimeoutMs`.
   */
  readonly quorumTimeoutMs?: number
  /** How long a node no longer known stays listed (as down) in /nodes and the dashboard, ms (default 1 h). */
  readonly forgetAfterMs?: number
  /** Period of the dashboard's stats poll of every node, ms (default 1000; 0 = no poll). */
  readonly sampleIntervalMs?: number
  readonly now?: () => number
  readonly rng?: () => number
}

/** Result of a read merged from several replicas. */
export interface MergedRead {
  readonly value: (name: string) => number
  readonly names: () => string[]
  /** True when counter `name` exists in the merge (written, not deleted or expired since). */
  readonly exists: (name: string) => boolean
  readonly consistency: Consistency
  /** Ids of the nodes whose states were merged. */
  readonly replicas: string[]
  /** Each answering node's id and its own value of counter `name` (before the merge). */
  readonly answered: (name: string) => Array<{ node: string; value: number | null }>
  /** The merged per-replica totals of counter `name`. */
  readonly totals: (name: string) => Array<{ replica: string; increments: number; decrements: number }>
}

/**
 * Path segment for a counter name: percent-encoded (names may hold `/ ? # %`),
 * and `.` / `..` too, so no URL layer resolves them.
 */
export function nameSegment(name: string): string {
  return name === '.' || name === '..' ? name.replaceAll('.', '%2E') : encodeURIComponent(name)
}

/** The gateway: owns the registry and the loops. Create one per app; call {@link start} and {@link stop}. */
export class Gateway {
  readonly registry: Registry
  readonly limits: ForwardLimits
  /** Every node seen in the last `forgetAfterMs`, with its state (down ones included). */
  readonly history: NodeHistory
  /** The dashboard's poller: last stats of each node, verdict, 15-minute ring. */
  readonly sampler: Sampler
  /** Prometheus registry of this gateway (GET /metrics). */
  readonly metrics: ReturnType<typeof gatewayMetrics>['registry']
  /** Discovery: not configured (null), or whether its last poll got an answer, and when one last did (ms). */
  discovery: { reachable: boolean; lastOkAt: number | undefined } | null
  /** Plain reads by path, and consistency reads by level and name: concurrent identical reads share a request. */
  readonly reads = {
    plain: new ReadCoalescer<Served>({ joinUntil: beforeSend }),
    merged: new ReadCoalescer<MergedRead>({ joinUntil: beforeSend }),
  }
  readonly #opts: GatewayOptions
  readonly #loops: Loop[] = []
  #dns: DnsWatcher | undefined

  constructor(opts: GatewayOptions) {
    this.#opts = opts
    this.registry = new Registry({
      staticNodes: opts.nodes,
      strategy: strategyFor(opts.strategy),
      policy: policyFor(opts.healthIntervalMs),
      requestTimeoutMs: opts.requestTimeoutMs,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.rng ? { rng: opts.rng } : {}),
    })
    this.limits = {
      requestTimeoutMs: opts.requestTimeoutMs,
      maxAttempts: opts.maxAttempts,
      deadlineMs: opts.deadlineMs,
    }
    this.history = new NodeHistory(opts.forgetAfterMs ?? 3_600_000)
    const interval = opts.sampleIntervalMs ?? 1000
    this.sampler = new Sampler(this.registry, this.history, {
      timeoutMs: Math.min(1000, opts.requestTimeoutMs),
      // 15 minutes of samples.
      capacity: Math.max(1, Math.ceil(900_000 / Math.max(interval, 100))),
    })
    const m = gatewayMetrics(this.history, () => this.sampler.refreshHistory())
    this.metrics = m.registry
    this.reads.plain.onJoin = m.coalesced
    this.reads.merged.onJoin = m.coalesced
    this.registry.events = m.events
    this.discovery = opts.discovery.length > 0 ? { reachable: false, lastOkAt: undefined } : null
  }

  /**
   * Polls discovery and health-checks every node once (so the first requests
   * see a real picture), then keeps both going in the background. Resolves
   * after the first round; never rejects. DNS discovery starts in the
   * background and is not waited for.
   */
  async start(log: Log): Promise<void> {
    const o = this.#opts
    const timeout = Math.min(o.requestTimeoutMs, o.healthIntervalMs * 2)
    if (o.dns !== undefined) {
      // Never waits on DNS: nodes appear when the first answer lands.
      this.#dns = dnsSource(this.registry, o.dns, log)
      this.#dns.start()
    }
    if (o.discovery.length > 0) {
      const disc = new Loop(async () => {
        const ok = await refreshDiscovery(this.registry, o.discovery, o.discoveryToken, timeout, log)
        this.discovery = { reachable: ok, lastOkAt: ok ? this.registry.now() : this.discovery?.lastOkAt }
      }, o.discoveryIntervalMs)
      this.#loops.push(disc)
      await disc.start()
    }
    const health = new Loop(() => checkAll(this.registry, timeout, log), o.healthIntervalMs)
    this.#loops.push(health)
    await health.start()
    if ((o.sampleIntervalMs ?? 1000) > 0) {
      const sampler = new Loop(() => this.sampler.tick(), o.sampleIntervalMs ?? 1000)
      this.#loops.push(sampler)
      await sampler.start()
    }
  }

  /** Stops the loops and closes every connection pool (in-flight requests finish first). */
  async stop(): Promise<void> {
    for (const l of this.#loops) l.stop()
    this.#dns?.stop()
    await this.registry.close()
  }

  /**
   * A write (`POST path` with `{ amount }`) with failover. The same
   * `idempotencyKey` (the client's, else a fresh UUID) goes with every
   * attempt; `consistency` is passed to the node, which does the quorum acks.
   * A client-supplied key also picks the node (rendezvous hashing), so a
   * client's retry usually meets the node that holds its record. A quorum/all
   * write gets `quorumTimeoutMs` more per attempt; any other goes on the
   * node's pipelined write channel (`UpstreamRequest.pipelined`).
   */
  write(
    path: string,
    amount: number,
    idempotencyKey: string | undefined,
    consistency: Consistency | undefined,
  ) {
    const key = idempotencyKey ?? randomUUID()
    const q = consistency === undefined ? '' : `?consistency=${consistency}`
    return forward(
      this.registry,
      {
        method: 'POST',
        path: `${path}${q}`,
        body: { amount },
        headers: { 'idempotency-key': key },
        pipelined: consistency === undefined || consistency === 'one',
      },
      this.limitsFor(consistency),
      // A client's key routes by rendezvous hashing, so the client's own retry reaches the same node;
      // a generated key is used once, so the configured strategy balances those writes.
      idempotencyKey,
    )
  }

  /**
   * The forward limits of a request at `consistency`: a quorum/all write
   * (or delete, TTL change) legitimately waits for acks, so each attempt gets
   * the node's quorum wait on top, and the node's own 504 (confirmed/required)
   * arrives instead of a gateway timeout and a retry elsewhere. Pure.
   */
  limitsFor(consistency: Consistency | undefined): ForwardLimits {
    return consistency === 'quorum' || consistency === 'all' ? this.#quorumLimits() : this.limits
  }

  #quorumLimits(): ForwardLimits {
    const wait = this.#opts.quorumTimeoutMs ?? DEFAULT_QUORUM_TIMEOUT_MS
    const requestTimeoutMs = this.limits.requestTimeoutMs + wait
    return {
      ...this.limits,
      requestTimeoutMs,
      deadlineMs: Math.max(this.limits.deadlineMs, requestTimeoutMs),
    }
  }

  /**
   * A plain read (`GET path`) from one node, with failover. Concurrent reads
   * of the same `path` share one request issued after each of them arrived
   * ({@link ReadCoalescer}), and so share its answer or its error. The node
   * is the read's home (read-home.ts: every read of one counter goes to one
   * usable node), then the next in that counter's order on failure.
   */
  read(path: string): Promise<Served> {
    return this.reads.plain.run(path, () =>
      forward(this.registry, { method: 'GET', path }, this.limits, { home: homeKey(path) }),
    )
  }

  /**
   * A consistency read: `GET /state` (only counter `name`, or all when
   * undefined) from {@link requiredReplicas} distinct nodes, merged with
   * CounterMap. Rejects with TALLY_QUORUM_UNAVAILABLE when too few answer.
   * Concurrent identical consistency reads (same `name` and `level`) share
   * one such merge, issued after each of them arrived ({@link ReadCoalescer}).
   */
  readMerged(name: string | undefined, level: Consistency): Promise<MergedRead> {
    const key = `${level}\u0000${name === undefined ? '' : `=${name}`}`
    return this.reads.merged.run(key, () => this.#readMerged(name, level))
  }

  async #readMerged(name: string | undefined, level: Consistency): Promise<MergedRead> {
    const k = requiredReplicas(level, this.registry.size)
    if (this.registry.size === 0)
      throw new GatewayError('TALLY_NO_NODES', 'the gateway knows no node (check --nodes / --discovery)')
    const path = name === undefined ? '/state' : `/state?name=${encodeURIComponent(name)}`
    const answers = await gather(this.registry, { method: 'GET', path }, k, this.limits)
    let merged: ReturnType<typeof mergeMarkedStates>
    try {
      merged = mergeMarkedStates(answers.map((a) => a.json))
    } catch (err) {
      if (isTallyError(err))
        throw new GatewayError('TALLY_UPSTREAM_FAILED', `a node served a malformed state: ${err.message}`)
      throw err
    }
    const value = (n: string): number => {
      try {
        return safeValue(merged.bigValue(n), n)
      } catch (err) {
        if (isTallyError(err, 'TALLY_VALUE_UNSAFE')) throw new GatewayError('TALLY_VALUE_UNSAFE', err.message)
        throw err
      }
    }
    return {
      value,
      names: () => merged.names(),
      exists: (n) => merged.exists(n),
      consistency: level,
      replicas: answers.map((a) => a.nodeId),
      answered: (n) => answers.map((a) => ({ node: a.nodeId, value: stateValue(a.json, n) })),
      totals: (n) => replicaTotals(merged.map.state([n]), n),
    }
  }
}
