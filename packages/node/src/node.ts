// One Tally node: the CounterMap rebuilt from the Store, the idempotency
// table, membership and the replicator, behind the operations the HTTP API
// calls. No HTTP and no process concerns here (see app.ts and server.ts).

import { assertName, type CounterMap, type Delta } from '@tally/crdt'
import type { Logger } from 'pino'
import * as E from './errors.js'
import { toHttpError } from './errors.js'
import { IdempotencyTable, type OpShape, sameOp } from './idempotency/idempotency.js'
import { isKeyRecord, KeyLedger, type KeyRecord } from './idempotency/key-ledger.js'
import { reconcile } from './idempotency/key-reconcile.js'
import { detectorFor } from './membership/failure-detector.js'
import { type LearnedPeer, Membership } from './membership/membership.js'
import { requiredAcks } from './replication/anti-entropy.js'
import { Replicator } from './replication/replicator.js'
import { rebuildCounters } from './storage/recovery.js'
import type { IdempotencyRecord, Identity, Store } from './storage/store.js'
import type { Transport, TransportStats } from './wire/transport.js'

/** Replication consistency of a write: how many replicas must hold it durably before the reply. */
export type Consistency = 'one' | 'quorum' | 'all'

/** Options of {@link TallyNode.start}. Durations in ms. */
export interface TallyNodeOptions {
  id: string
  store: Store
  transport: Transport
  logger: Logger
  /** Host peers use to reach our gossip port; default: the address the transport bound. */
  advertiseHost?: string | undefined
  /** Our HTTP base URL as peers and the gateway should use it (can be set later with setHttp). */
  http?: string
  peers?: string[]
  fanout?: number
  gossipIntervalMs?: number
  eagerPush?: boolean
  clusterSize?: number
  snapshotIntervalMs?: number
  idempotencyTtlMs?: number
  idempotencyMaxKeys?: number
  quorumTimeoutMs?: number
}

type Resolved = Required<Omit<TallyNodeOptions, 'advertiseHost' | 'http'>>

/** A mutating request. */
export interface MutateRequest extends OpShape {
  key?: string | undefined
  /** Which try this is (`Tally-Attempt`, 1 = first, default 1); only meaningful with a key. */
  attempt?: number | undefined
  consistency?: Consistency
}

/** Counters of cross-replica idempotency, exposed on /metrics. */
export interface KeyStats {
  /** Keyed requests answered without applying because another replica had applied the key. */
  answeredFromPeers: number
  /** Times a key was found applied by two or more replicas with the same request. */
  duplicates: number
  /** Inverse operations this node wrote to cancel its own losing applications. */
  compensations: number
  /** Times a key was found applied with different requests (not compensated). */
  mismatches: number
}

/** A running node. Create with {@link TallyNode.start}; always {@link TallyNode.stop} it. */
export class TallyNode {
  readonly identity: Identity
  readonly map: CounterMap
  readonly membership: Membership
  readonly replicator: Replicator
  readonly idempotency: IdempotencyTable
  /** Every known application of an Idempotency-Key (own and learnt), within retention. */
  readonly keys: KeyLedger
  readonly keyStats: KeyStats = { answeredFromPeers: 0, duplicates: 0, compensations: 0, mismatches: 0 }
  readonly startedAt = Date.now()
  readonly #o: Resolved
  readonly #pending = new Set<number>()
  #inflight = new Set<Promise<unknown>>()
  #snapTimer: NodeJS.Timeout | undefined
  #snapshotting: Promise<void> | null = null
  #stopping = false
  // Set when the store refused a write: the in-memory map may then hold operations that are not
  // durable, so the node stops serving (reads and writes) and never gossips them (their seqs stay
  // pending, below the durable mark) until it restarts from what the store did keep.
  #storeFailure: string | null = null
  #snapshots = 0
  // Own applications whose compensation is being written.
  readonly #compensating = new Set<KeyRecord>()
  // Records handed to appendLocal and not yet settled: a snapshot taken meanwhile must hold them,
  // since its state already holds their operations.
  readonly #unsettled = new Set<KeyRecord>()

  private constructor(o: Resolved, identity: Identity, map: CounterMap, membership: Membership) {
    this.#o = o
    this.identity = identity
    this.map = map
    this.membership = membership
    this.idempotency = new IdempotencyTable({ ttlMs: o.idempotencyTtlMs, maxKeys: o.idempotencyMaxKeys })
    this.keys = new KeyLedger({ ttlMs: o.idempotencyTtlMs, maxRecords: o.idempotencyMaxKeys })
    this.replicator = new Replicator({
      map,
      store: o.store,
      transport: o.transport,
      membership,
      logger: o.logger,
      fanout: o.fanout,
      gossipIntervalMs: o.gossipIntervalMs,
      eagerPush: o.eagerPush,
      durableSeq: () => this.#durableSeq(),
      keys: {
        learn: (records) => this.#learn(records),
        select: (has, durable) => this.keys.select(has, map.replica, durable),
      },
    })
    this.replicator.onRemoteChange = () => this.#maybeSnapshot()
  }

  /**
   * Opens the store, rebuilds the counters from what it recovered, binds the
   * transport and starts gossip. Rejects if the store cannot be opened or the
   * port cannot be bound.
   */
  static async start(opts: TallyNodeOptions): Promise<TallyNode> {
    const o: Resolved = {
      peers: [],
      fanout: 3,
      gossipIntervalMs: 200,
      eagerPush: true,
      clusterSize: 1,
      snapshotIntervalMs: 60_000,
      idempotencyTtlMs: 86_400_000,
      idempotencyMaxKeys: 1_000_000,
      quorumTimeoutMs: 2_000,
      ...opts,
    }
    const log = o.logger
    const rec = await o.store.open(o.id)
    for (const w of rec.warnings) log.warn({ warning: w }, 'store recovery')
    const { map, skipped } = rebuildCounters(rec)
    if (skipped > 0) log.warn({ skipped }, 'skipped invalid deltas found in the store')
    let bound: string
    try {
      bound = await o.transport.listen()
    } catch (err) {
      await o.store.close()
      throw err
    }
    const port = bound.slice(bound.lastIndexOf(':') + 1)
    const addr = opts.advertiseHost ? `${bracket(opts.advertiseHost)}:${port}` : bound
    const det = detectorFor(o.gossipIntervalMs)
    const membership = new Membership({
      self: { id: o.id, addr, http: opts.http ?? '' },
      detector: det,
      probeBaseMs: o.gossipIntervalMs,
      probeMaxMs: Math.max(10_000, o.gossipIntervalMs * 10),
    })
    membership.onChange = (id, from, to) => log.info({ peer: id, from, to }, 'peer state changed')
    membership.seed(o.peers)
    const node = new TallyNode(o, rec.identity, map, membership)
    node.#loadKeys(rec.idempotency)
    node.replicator.start()
    // A crash may have come between learning a winner and compensating: settle now.
    for (const key of node.keys.duplicatedKeys()) node.#check(key)
    node.#snapTimer = setInterval(() => void node.snapshot(), o.snapshotIntervalMs)
    node.#snapTimer.unref()
    log.info(
      {
        id: o.id,
        replica: rec.identity.replicaId,
        gossip: addr,
        counters: map.size,
        deltas: rec.deltas.length,
      },
      'node started',
    )
    return node
  }

  // Recovered records: all go to the ledger; own ones (and records from before keys were
  // replicated, which are own) also answer retries with their recorded value.
  #loadKeys(records: readonly IdempotencyRecord[]): void {
    const own: IdempotencyRecord[] = []
    for (const r of records) {
      if (isKeyRecord(r)) this.keys.add({ ...r })
      else own.push(r)
    }
    for (const r of this.keys.records()) if (r.replica === this.map.replica) own.push(r)
    this.idempotency.load(own)
  }

  // Key records learnt from a peer: returns those to persist; checks each key newly learnt.
  #learn(records: KeyRecord[]): KeyRecord[] {
    const out: KeyRecord[] = []
    const fresh = new Set<string>()
    for (const r of records) {
      const res = this.keys.add(r)
      if (res === 'new' || res === 'updated') out.push(r)
      if (res === 'new') fresh.add(r.key)
    }
    for (const key of fresh) this.#check(key)
    return out
  }

  // Applies the reconcile rule to one key: compensates this node's losing applications.
  #check(key: string): void {
    const apps = this.keys.applications(key)
    const v = reconcile(apps, this.map.replica)
    if (v.kind === 'mismatch') {
      this.keyStats.mismatches++
      this.#o.logger.warn(
        { key, applications: apps.map((a) => [a.replica, a.seq, a.name, a.op, a.amount]) },
        'an idempotency key was applied with different requests on different replicas (not compensated)',
      )
    } else if (v.kind === 'duplicate') {
      this.keyStats.duplicates++
      for (const loser of v.compensate) this.#compensate(loser)
    }
  }

  #compensate(rec: KeyRecord): void {
    if (this.#stopping || rec.compensated === true || this.#compensating.has(rec)) return
    this.#compensating.add(rec)
    const work = this.#writeCompensation(rec).finally(() => {
      this.#compensating.delete(rec)
      this.#inflight.delete(work)
    })
    this.#inflight.add(work)
  }

  // The inverse operation of `rec`, durable together with its record marked compensated (so it
  // happens once, across restarts), then replicated like any local write. Never rejects.
  async #writeCompensation(rec: KeyRecord): Promise<void> {
    const log = this.#o.logger
    try {
      if (rec.op === 'increment') this.map.decrement(rec.name, rec.amount)
      else this.map.increment(rec.name, rec.amount)
    } catch (err) {
      log.error({ err, key: rec.key, name: rec.name }, 'cannot compensate a duplicate application')
      return
    }
    const seq = this.map.seq
    const delta: Delta = this.map.deltaFor(this.map.replica, seq - 1)
    const updated: KeyRecord = { ...rec, compensated: true }
    this.#pending.add(seq)
    this.#unsettled.add(updated)
    try {
      await this.#o.store.appendLocal(delta, updated)
    } catch (err) {
      log.error({ err, key: rec.key }, 'appendLocal of a compensation failed')
      this.#failStore(err)
      return
    } finally {
      if (this.#storeFailure === null) this.#pending.delete(seq)
      this.#unsettled.delete(updated)
    }
    this.keys.add(updated)
    this.keyStats.compensations++
    log.info(
      { key: rec.key, name: rec.name, op: rec.op, amount: rec.amount, replica: rec.replica, seq: rec.seq },
      'cancelled a duplicate application of an idempotency key',
    )
    this.replicator.localDurable(delta)
    this.#maybeSnapshot()
  }

  /** Sets the HTTP base URL advertised to peers (once the HTTP server is listening). */
  setHttp(url: string): void {
    this.membership.self.http = url
    this.membership.invalidate()
  }

  /** Adds peers learned from discovery (or any other source). */
  learn(peers: readonly LearnedPeer[]): void {
    this.membership.learn(peers)
  }

  // Own operations at or below this seq are durable (none is still being written).
  #durableSeq(): number {
    if (this.#pending.size === 0) return this.map.seq
    let min = Number.POSITIVE_INFINITY
    for (const s of this.#pending) if (s < min) min = s
    return min - 1
  }

  /** Why the node stopped serving after a storage failure, or null while it serves. */
  get storeFailure(): string | null {
    return this.#storeFailure
  }

  /** Throws TALLY_STORE_FAILED (503) once a write could not be made durable. */
  assertServing(): void {
    if (this.#storeFailure !== null) throw new E.StoreFenced(this.#storeFailure)
  }

  #failStore(err: unknown): void {
    if (this.#storeFailure !== null) return
    this.#storeFailure = err instanceof Error ? err.message : String(err)
    this.#o.logger.error(
      { err },
      'write-ahead log append failed: this node stops serving reads and writes until restarted',
    )
  }

  /** Current value of counter `name` (0 if unknown). Throws the HTTP errors NameInvalid / ValueUnsafe / StoreFenced. */
  value(name: string): number {
    this.assertServing()
    try {
      assertName(name)
      return this.map.value(name)
    } catch (err) {
      throw toHttpError(err)
    }
  }

  /**
   * Applies an increment/decrement, waits until it is durable (and, for
   * quorum/all, confirmed by that many replicas), then resolves with the new
   * value. With a key, a repeat resolves with the first answer and changes
   * nothing; a key another replica applied (learnt by replication) resolves
   * with the current value and changes nothing. Rejects with an HTTP error
   * from errors.ts (TALLY_IDEMPOTENCY_MISMATCH for a key first used for
   * another request).
   */
  async mutate(req: MutateRequest): Promise<{ name: string; value: number }> {
    if (this.#stopping) throw new E.ShuttingDown()
    this.assertServing()
    const shape: OpShape = { name: req.name, op: req.op, amount: req.amount }
    if (req.key !== undefined) {
      for (;;) {
        const c = this.idempotency.check(req.key, shape)
        if (c.kind === 'done') return { name: c.record.name, value: c.record.value }
        if (c.kind === 'mismatch') {
          throw new E.IdempotencyMismatch(
            `Idempotency-Key was first used for ${c.first.op} ${c.first.name} by ${c.first.amount}`,
          )
        }
        if (c.kind === 'new') break
        await c.wait
      }
      const elsewhere = this.keys.applications(req.key)[0]
      if (elsewhere) {
        if (!sameOp(elsewhere, shape)) {
          throw new E.IdempotencyMismatch(
            `Idempotency-Key was first used for ${elsewhere.op} ${elsewhere.name} by ${elsewhere.amount}`,
          )
        }
        this.keyStats.answeredFromPeers++
        return { name: shape.name, value: this.value(shape.name) }
      }
      const work = this.#apply(req, shape)
      this.idempotency.track(req.key, shape, work)
      return work
    }
    return this.#apply(req, shape)
  }

  async #apply(req: MutateRequest, shape: OpShape): Promise<{ name: string; value: number }> {
    let value: number
    try {
      value =
        shape.op === 'increment'
          ? this.map.increment(shape.name, shape.amount)
          : this.map.decrement(shape.name, shape.amount)
    } catch (err) {
      throw toHttpError(err)
    }
    const seq = this.map.seq
    const delta: Delta = this.map.deltaFor(this.map.replica, seq - 1)
    const record: KeyRecord | undefined =
      req.key === undefined
        ? undefined
        : {
            key: req.key,
            ...shape,
            value,
            at: Date.now(),
            replica: this.map.replica,
            seq,
            attempt: req.attempt ?? 1,
          }
    this.#pending.add(seq)
    if (record) this.#unsettled.add(record)
    const write = this.#o.store.appendLocal(delta, record)
    this.#inflight.add(write)
    try {
      await write
    } catch (err) {
      // Not durable: keep `seq` pending for good, so this operation never leaves the node.
      this.#failStore(err)
      throw new E.StoreFailed((err as Error).message)
    } finally {
      if (this.#storeFailure === null) this.#pending.delete(seq)
      this.#inflight.delete(write)
      if (record) this.#unsettled.delete(record)
    }
    if (record) {
      this.idempotency.remember(record)
      // Durable: now it may meet another application of its key.
      if (this.keys.add(record) === 'new') this.#check(record.key)
    }
    this.replicator.localDurable(delta, record)
    this.#maybeSnapshot()
    const need = requiredAcks(req.consistency ?? 'one', this.clusterSize())
    if (need > 1) {
      const confirmed = await this.replicator.replicate(delta, need, this.#o.quorumTimeoutMs, record)
      if (confirmed < need) {
        const e = new E.QuorumTimeout(
          `only ${confirmed} of ${need} replicas confirmed the write in time; it is durable here and will replicate`,
        )
        Object.assign(e, { confirmed, required: need })
        throw e
      }
    }
    return { name: shape.name, value }
  }

  /** Counters of the gossip transport. */
  transportStats(): TransportStats {
    return this.#o.transport.stats()
  }

  /** Cluster size for quorum: known members incl. self, never below --cluster-size. */
  clusterSize(): number {
    return Math.max(this.membership.size(), this.#o.clusterSize)
  }

  #maybeSnapshot(): void {
    if (this.#o.store.needsSnapshot?.()) void this.snapshot()
  }

  /** Writes a snapshot unless one is running (then waits for it). Never rejects; failures are logged. */
  snapshot(): Promise<void> {
    if (this.#snapshotting) return this.#snapshotting
    // The map may hold operations the store refused: never let a snapshot make them durable.
    if (this.#storeFailure !== null) return Promise.resolve()
    // Every live record (own, learnt, and those of writes still being logged, whose operations
    // the state already holds); records from before keys were replicated live only in the table.
    let records: IdempotencyRecord[]
    try {
      records = this.idempotency
        .records()
        .filter((r) => !isKeyRecord(r))
        .concat(this.keys.records(), [...this.#unsettled])
    } catch (err) {
      this.#o.logger.error({ err }, 'snapshot failed')
      return Promise.resolve()
    }
    this.#snapshotting = this.#o.store
      .snapshot(this.map.state(), records)
      .then(
        () => {
          this.#snapshots++
        },
        (err: unknown) => this.#o.logger.error({ err }, 'snapshot failed'),
      )
      .finally(() => {
        this.#snapshotting = null
      })
    return this.#snapshotting
  }

  /** Snapshots taken since start. */
  get snapshots(): number {
    return this.#snapshots
  }

  /** True once stop() was called. */
  get stopping(): boolean {
    return this.#stopping
  }

  /**
   * Clean shutdown: refuses new writes, waits for writes in flight, tells
   * peers (LEAVE), flushes the transport, snapshots, closes store and transport.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    clearInterval(this.#snapTimer)
    await Promise.allSettled([...this.#inflight])
    await this.replicator.stop(1_000)
    await this.replicator.settled()
    await this.snapshot()
    await this.#o.transport.close()
    await this.#o.store.close()
    this.#o.logger.info({ id: this.identity.nodeId }, 'node stopped')
  }
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
