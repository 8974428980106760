// One Tally node: its lifecycle (start: recover from the store, bind the
// transport, start gossip; stop) and the plain write path
// (mutate → apply → append → replicate). The keyed-write flow is in
// idempotency/keyed-writes.ts, durable appends and the fence after a failed
// one in storage/write-fence.ts, snapshot timing in
// storage/snapshot-scheduler.ts. No HTTP here: errors are domain errors
// (errors.ts) that the edges translate; no process concerns (server.ts).

import { assertName, type CounterMap, type CounterMapState, type Delta } from '@tally/crdt'
import { type Consistency, isTtlMs, requiredReplicas } from '@tally/kit'
import type { Logger } from 'pino'
import { type BatchOp, type BatchOutcome, foldBatch } from './batch/fold-batch.js'
import { BoundedCounters } from './bounded/bounded-counters.js'
import { BoundedReplication } from './bounded/bounded-replication.js'
import { type BoundedStore, MemoryBoundedStore } from './bounded/bounded-store.js'
import { openEarly } from './bounded/early-open.js'
import { NODE_DEFAULTS } from './defaults.js'
import { NodeError, NodeErrorCodes } from './errors.js'
import type { OpShape } from './idempotency/idempotency.js'
import type { KeyLedger, KeyRecord } from './idempotency/key-ledger.js'
import { KeyedWrites, type KeyStats } from './idempotency/keyed-writes.js'
import { LevelLimitStore, MemoryLimitStore } from './limits/limit-store.js'
import { Limits } from './limits/limits.js'
import { detectorFor } from './membership/failure-detector.js'
import { type LearnedPeer, Membership } from './membership/membership.js'
import { Replicator } from './replication/replicator.js'
import { ConsistentResets } from './resets/consistent-resets.js'
import { CounterGc } from './resets/counter-gc.js'
import { CounterLifecycle, type DeleteAnswer, type TtlAnswer } from './resets/counter-lifecycle.js'
import { MarksGossip } from './resets/marks-gossip.js'
import { rebuildCounters } from './storage/recovery.js'
import { minorCollection } from './storage/recovery-gc.js'
import { SnapshotScheduler } from './storage/snapshot-scheduler.js'
import type { Identity, Store, StoreStats } from './storage/store.js'
import { turnClock } from './storage/turn-budget.js'
import { WriteFence } from './storage/write-fence.js'
import { isBoundedMessage } from './wire/bounded-messages.js'
import { CountingTransport, type MessageCounts } from './wire/counting-transport.js'
import { isResetMessage } from './wire/reset-messages.js'
import type { Transport, TransportStats } from './wire/transport.js'

export type { Consistency } from '@tally/kit'
export type { BatchOp, BatchOutcome } from './batch/fold-batch.js'
export type { KeyStats } from './idempotency/keyed-writes.js'

/** Options of {@link TallyNode.start}. Durations in ms; defaults in {@link NODE_DEFAULTS}. */
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
  /** Most entries in one anti-entropy answer (≥ 1000). */
  catchUpSliceEntries?: number
  /** Log of the bounded counters; default: in memory (nothing survives a restart). */
  boundedStore?: BoundedStore
  /** How long a bounded decrement short of rights waits for peers' grants. */
  boundedTransferTimeoutMs?: number
  /** Wall clock for TTLs, ms since the epoch (default Date.now; tests inject skewed clocks). */
  now?: () => number
  /** A deleted or expired counter every member confirmed is garbage-collected this long after (resets/counter-gc.ts). */
  gcGraceMs?: number
}

type Resolved = Required<Omit<TallyNodeOptions, 'advertiseHost' | 'http' | 'boundedStore'>>

/** A mutating request. */
export interface MutateRequest extends OpShape {
  key?: string | undefined
  /** Which try this is (`Tally-Attempt`, 1 = first, default 1); only meaningful with a key. */
  attempt?: number | undefined
  consistency?: Consistency
}

/** A running node. Create with {@link TallyNode.start}; always {@link TallyNode.stop} it. */

/** Records' worth of change-log sorting between two looks at the clock (see #sortLogsInTurns). */
const LOG_SORT_WORK = 16_384

export class TallyNode {
  readonly identity: Identity
  readonly map: CounterMap
  readonly membership: Membership
  readonly replicator: Replicator
  /** The bounded counters (floor 0, rights) and their replication. */
  readonly bounded: BoundedCounters
  readonly boundedReplication: BoundedReplication
  /** Deletes, TTLs and expiries (resets/). */
  readonly lifecycle: CounterLifecycle
  readonly marksGossip: MarksGossip
  /** Deletes and TTL changes at quorum/all: pull before, replicate after. */
  readonly resets: ConsistentResets
  /** Garbage collection of deleted and expired counters. */
  readonly gc: CounterGc
  readonly startedAt = Date.now()
  readonly #o: Resolved
  readonly #fence: WriteFence
  readonly #keyed: KeyedWrites
  readonly #snapshots: SnapshotScheduler
  readonly #transport: CountingTransport
  #limits: Limits | undefined
  #stopping = false

  private constructor(
    o: Resolved,
    identity: Identity,
    map: CounterMap,
    membership: Membership,
    bounded: BoundedCounters,
  ) {
    this.#o = o
    this.bounded = bounded
    this.identity = identity
    this.map = map
    this.membership = membership
    this.#fence = new WriteFence({ store: o.store, logger: o.logger })
    this.#keyed = new KeyedWrites({
      map,
      fence: this.#fence,
      logger: o.logger,
      ttlMs: o.idempotencyTtlMs,
      maxKeys: o.idempotencyMaxKeys,
      publish: (delta) => this.#publish(delta),
      // A compensation is a write: lifted after a collection, a due expiry first (as in #apply).
      beforeWrite: (name) => {
        if (this.gc.mayRebase(name)) this.gc.beforeWrite(name)
        if (this.lifecycle.marks.has(name)) this.lifecycle.applyDue(name)
      },
    })
    this.#snapshots = new SnapshotScheduler({
      store: o.store,
      map,
      fence: this.#fence,
      records: this.#keyed,
      logger: o.logger,
      intervalMs: o.snapshotIntervalMs,
      marks: () => this.lifecycle.record(),
    })
    this.#transport = new CountingTransport(o.transport)
    this.lifecycle = new CounterLifecycle({
      map,
      fence: this.#fence,
      logger: o.logger,
      now: o.now,
      keyTtlMs: o.idempotencyTtlMs,
      send: (tuples) => this.marksGossip.send(tuples),
      appendRemote: (rec) => o.store.appendMarks(rec, false),
    })
    this.gc = new CounterGc({
      map,
      lifecycle: this.lifecycle,
      membership,
      transport: this.#transport,
      fence: this.#fence,
      logger: o.logger,
      now: o.now,
      graceMs: o.gcGraceMs,
    })
    this.marksGossip = new MarksGossip({
      lifecycle: this.lifecycle,
      transport: this.#transport,
      membership,
      gc: this.gc,
    })
    this.replicator = new Replicator({
      map,
      store: o.store,
      transport: this.#transport,
      membership,
      logger: o.logger,
      fanout: o.fanout,
      gossipIntervalMs: o.gossipIntervalMs,
      eagerPush: o.eagerPush,
      durableSeq: () => this.#fence.durableSeq(map.seq),
      keys: this.#keyed,
      sliceEntries: o.catchUpSliceEntries,
      marks: this.marksGossip,
    })
    this.replicator.onRemoteChange = () => this.#snapshots.maybe()
    this.boundedReplication = new BoundedReplication({
      counters: bounded,
      transport: this.#transport,
      membership,
      logger: o.logger,
      fanout: o.fanout,
      gossipIntervalMs: o.gossipIntervalMs,
      eagerPush: o.eagerPush,
      transferTimeoutMs: o.boundedTransferTimeoutMs,
    })
    this.resets = new ConsistentResets({
      map,
      lifecycle: this.lifecycle,
      transport: this.#transport,
      membership,
      logger: o.logger,
      mergePulled: (delta) => this.replicator.mergePulled(delta),
      durableSeq: () => this.#fence.durableSeq(map.seq),
      ownSettled: () => this.#fence.settled(),
      clusterSize: () => this.clusterSize(),
      quorumTimeoutMs: o.quorumTimeoutMs,
    })
    this.replicator.onOtherMessage = (msg) => {
      if (isBoundedMessage(msg)) this.boundedReplication.handle(msg)
      else if (isResetMessage(msg)) this.resets.handle(msg)
    }
  }

  /**
   * Opens the store (and, at the same time, the bounded store), rebuilds the
   * counters from what they recovered, binds the transport and starts
   * gossip. Options left out take {@link NODE_DEFAULTS}. Rejects if a store
   * cannot be opened (with the main store's error when both fail; the other
   * store is closed again) or the port cannot be bound.
   */
  static async start(opts: TallyNodeOptions): Promise<TallyNode> {
    const d = NODE_DEFAULTS
    const o: Resolved = {
      peers: [],
      fanout: d.fanout,
      gossipIntervalMs: d.gossipIntervalMs,
      eagerPush: d.eagerPush,
      clusterSize: d.clusterSize,
      snapshotIntervalMs: d.snapshotIntervalMs,
      idempotencyTtlMs: d.idempotencyTtlMs,
      idempotencyMaxKeys: d.idempotencyMaxKeys,
      quorumTimeoutMs: d.quorumTimeoutMs,
      catchUpSliceEntries: d.catchUpSliceEntries,
      boundedTransferTimeoutMs: d.boundedTransferTimeoutMs,
      gcGraceMs: d.gcGraceMs,
      now: Date.now,
      ...opts,
    }
    const log = o.logger
    const boundedStore = opts.boundedStore ?? new MemoryBoundedStore()
    // The bounded log opens beside the main store (own folder); the main store's error comes first.
    const boundedOpen = openEarly(boundedStore)
    let rec: Awaited<ReturnType<Store['open']>>
    try {
      rec = await o.store.open(o.id)
    } catch (err) {
      await boundedOpen.abandon()
      throw err
    }
    for (const w of rec.warnings) log.warn({ warning: w }, 'store recovery')
    // A young-generation collection now and then frees the snapshot chunks already merged (recovery-gc.ts).
    // A snapshot chunk found damaged as it is read refuses the start here: the store is closed first.
    let rebuilt: Awaited<ReturnType<typeof rebuildCounters>>
    try {
      rebuilt = await rebuildCounters(rec, { collect: minorCollection() })
    } catch (err) {
      await o.store.close()
      await boundedOpen.abandon()
      throw err
    }
    const { map, skipped } = rebuilt
    if (skipped > 0) log.warn({ skipped }, 'skipped invalid deltas found in the store')
    // The key records, a few chunks per event-loop turn (loaded below into the key ledger);
    // then the store lets go of what only recovery read.
    try {
      await rec.readIdempotency?.()
      await o.store.afterRecovery?.()
    } catch (err) {
      await o.store.close()
      await boundedOpen.abandon()
      throw err
    }
    let bound: string
    let bounded: BoundedCounters
    try {
      bounded = BoundedCounters.fromRecovered(
        {
          replica: rec.identity.replicaId,
          store: boundedStore,
          logger: log,
          idempotencyTtlMs: o.idempotencyTtlMs,
          idempotencyMaxKeys: o.idempotencyMaxKeys,
        },
        await boundedOpen.recovered(),
      )
    } catch (err) {
      await o.store.close()
      throw err
    }
    try {
      bound = await o.transport.listen()
    } catch (err) {
      await bounded.stop()
      await o.store.close()
      throw err
    }
    const port = bound.slice(bound.lastIndexOf(':') + 1)
    const addr = opts.advertiseHost ? `${bracket(opts.advertiseHost)}:${port}` : bound
    const membership = new Membership({
      self: { id: o.id, addr, http: opts.http ?? '' },
      detector: detectorFor(o.gossipIntervalMs),
      probeBaseMs: o.gossipIntervalMs,
      probeMaxMs: Math.max(10_000, o.gossipIntervalMs * 10),
    })
    membership.onChange = (id, from, to) => log.info({ peer: id, from, to }, 'peer state changed')
    membership.seed(o.peers)
    const node = new TallyNode(o, rec.identity, map, membership, bounded)
    await node.#keyed.loadInTurns(rec.idempotency)
    node.lifecycle.load(rec.marks)
    try {
      await node.#openLimits()
    } catch (err) {
      await o.transport.close()
      await o.store.close()
      throw err
    }
    node.lifecycle.start()
    node.replicator.start()
    node.boundedReplication.start()
    node.#keyed.reconcileRecovered()
    node.#snapshots.start()
    void node.#sortLogsInTurns()
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

  /**
   * Applies an increment/decrement, waits until it is durable (and, for
   * quorum/all, confirmed by that many replicas), then resolves with the new
   * value. With a key, a repeat resolves with the first answer and changes
   * nothing; a key another replica applied (learnt by replication) resolves
   * with the current value and changes nothing. Rejects with a NodeError
   * (TALLY_SHUTTING_DOWN, TALLY_STORE_FAILED, TALLY_IDEMPOTENCY_MISMATCH,
   * TALLY_QUORUM_TIMEOUT with details `confirmed` and `required`) or a
   * TallyError of @tally/crdt (TALLY_NAME_INVALID, TALLY_AMOUNT_INVALID,
   * TALLY_OVERFLOW, TALLY_VALUE_UNSAFE); nothing changes when it rejects
   * before the write is durable. Never throws: every refusal is a rejection.
   */
  mutate(req: MutateRequest): Promise<{ name: string; value: number }> {
    try {
      assertName(req.name)
      if (this.#stopping) throw new NodeError(NodeErrorCodes.SHUTTING_DOWN, 'node is shutting down')
      this.#fence.assertServing()
      // The common writes (consistency one) take no async frame: one `then` after the append.
      const one = req.consistency === undefined || req.consistency === 'one'
      if (req.key !== undefined) return this.#mutateKeyed(req.key, req, one)
      if (one) return this.#applyOne(req.name, req.op, req.amount)
      return this.#apply(req, { name: req.name, op: req.op, amount: req.amount })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  // A keyed write: answered as decided by the key's records, or applied and in flight under its
  // key until it settles. Throws TALLY_IDEMPOTENCY_MISMATCH and what value() and the map's writes throw.
  #mutateKeyed(key: string, req: MutateRequest, one: boolean): Promise<{ name: string; value: number }> {
    const shape: OpShape = { name: req.name, op: req.op, amount: req.amount }
    const d = this.#keyed.decide(key, shape)
    if (d.kind === 'repeat') return Promise.resolve(d.answer)
    if (d.kind === 'applied-elsewhere')
      return Promise.resolve({ name: shape.name, value: this.value(shape.name) })
    // The same request is in flight: decide again once it settled (with the node's checks again).
    if (d.kind === 'wait') return d.wait.then(() => this.mutate(req))
    const work = one
      ? this.#applyOne(shape.name, shape.op, shape.amount, key, req.attempt ?? 1)
      : this.#apply(req, shape)
    // In flight from now on, in the same synchronous run as the decision: a duplicate waits for it.
    this.#keyed.track(key, shape, work)
    return work
  }

  // Rate limits: buckets beside the log (or in memory on a store without a database), gossip on the rounds.
  async #openLimits(): Promise<void> {
    const o = this.#o
    const shared = o.store.sharedDb?.()
    this.#limits = await Limits.open({
      replica: this.identity.replicaId,
      store: shared ? new LevelLimitStore(shared.db, shared.sync) : new MemoryLimitStore(),
      transport: this.#transport,
      membership: this.membership,
      logger: o.logger,
      fanout: o.fanout,
      eagerPush: o.eagerPush,
      maxKeys: o.idempotencyMaxKeys,
      assertServing: () => {
        if (this.#stopping) throw new NodeError(NodeErrorCodes.SHUTTING_DOWN, 'node is shutting down')
        this.#fence.assertServing()
      },
    })
    this.replicator.limits = this.#limits
  }

  /** The rate limits (`POST /limits/:name/hit`, `TALLY.LIMIT`): see limits/limits.ts. */
  get limits(): Limits {
    return this.#limits as Limits
  }

  /**
   * Applies a batch of plain writes (no idempotency key, consistency `one`)
   * at once, as if one by one in order: `values[i]` is the counter's value
   * right after op i, or the error that refused op i alone (see
   * {@link foldBatch}). The batch is one write: one delta, one log record,
   * one eager push. `durable` resolves once it is durable (answer no op
   * before: that is the durability rule) and rejects with TALLY_STORE_FAILED
   * (NodeError) when the store refuses it. Throws TALLY_SHUTTING_DOWN or
   * TALLY_STORE_FAILED (NodeError), changing nothing, when the node does not
   * take writes.
   */
  applyBatch(ops: readonly BatchOp[]): { values: BatchOutcome[]; durable: Promise<void> } {
    if (this.#stopping) throw new NodeError(NodeErrorCodes.SHUTTING_DOWN, 'node is shutting down')
    this.#fence.assertServing()
    const map = this.map
    // Counters under a reset mark (deleted or with a TTL): a due expiry goes
    // first (and into the log first), as in #apply.
    const marked = new Set<string>()
    const before = map.seq
    if (this.lifecycle.marks.size > 0 || this.lifecycle.floor > 0) {
      for (const op of ops) {
        if (marked.has(op.name)) continue
        if (this.gc.mayRebase(op.name)) this.gc.beforeWrite(op.name)
        if (!this.lifecycle.marks.has(op.name)) continue
        marked.add(op.name)
        this.lifecycle.applyDue(op.name)
      }
    }
    const values = foldBatch(map, ops)
    // Each op of a marked counter is answered with the value under its mark:
    // within one batch that is the map's total plus a constant offset.
    for (const name of marked) {
      let offset: number
      try {
        offset = this.lifecycle.value(name) - map.value(name)
      } catch {
        continue
      }
      if (offset === 0) continue
      ops.forEach((op, i) => {
        const v = values[i]
        if (op.name === name && typeof v === 'number') values[i] = v + offset
      })
    }
    if (map.seq === before) return { values, durable: Promise.resolve() }
    const delta: Delta = map.deltaFor(map.replica, before)
    // Pending from its first seq on: gossip sends none of the batch before it is durable.
    const durable = this.#fence.append(before + 1, delta).then(() => this.#publish(delta))
    return { values, durable }
  }

  // The write path: apply to the map, append (durable), then replicate.
  async #apply(req: MutateRequest, shape: OpShape): Promise<{ name: string; value: number }> {
    const map = this.map
    const before = map.seq
    const value = this.#applyOp(shape.name, shape.op, shape.amount)
    const seq = map.seq
    const delta: Delta = map.deltaFor(map.replica, before)
    const record: KeyRecord | undefined =
      req.key === undefined ? undefined : this.#keyed.recordFor(req.key, shape, value, seq, req.attempt ?? 1)
    await this.#fence.append(before + 1, delta, record)
    // Durable: now it may meet another application of its key.
    if (record) this.#keyed.settle(record)
    this.#publish(delta, record)
    const need = requiredReplicas(req.consistency ?? 'one', this.clusterSize())
    if (need > 1) {
      const confirmed = await this.replicator.replicate(delta, need, this.#o.quorumTimeoutMs, record)
      if (confirmed < need) {
        throw new NodeError(
          NodeErrorCodes.QUORUM_TIMEOUT,
          `only ${confirmed} of ${need} replicas confirmed the write in time; it is durable here and will replicate`,
          { details: { confirmed, required: need } },
        )
      }
    }
    return { name: shape.name, value }
  }

  // #apply for a write at consistency one (with its key record when keyed): the answer once
  // durable. Throws what the map's writes throw.
  #applyOne(
    name: string,
    op: OpShape['op'],
    amount: number,
    key?: string,
    attempt = 1,
  ): Promise<{ name: string; value: number }> {
    const map = this.map
    const before = map.seq
    const value = this.#applyOp(name, op, amount)
    const delta: Delta = map.deltaFor(map.replica, before)
    const record: KeyRecord | undefined =
      key === undefined
        ? undefined
        : this.#keyed.recordFor(key, { name, op, amount }, value, map.seq, attempt)
    return this.#fence.append(before + 1, delta, record).then(() => {
      // Durable: now it may meet another application of its key.
      if (record) this.#keyed.settle(record)
      this.#publish(delta, record)
      return { name, value }
    })
  }

  // Applies one operation to the map (a due expiry, or a lift after a collection, first: they go
  // into the same delta and log record); the value to answer. Throws what the map's writes throw.
  #applyOp(name: string, op: OpShape['op'], amount: number): number {
    const map = this.map
    // A counter collected elsewhere, or below this node's floor: own totals lifted first (counter-gc.ts).
    if (this.gc.mayRebase(name)) this.gc.beforeWrite(name)
    // A due expiry goes first (and into the log first): this write counts from 0.
    const marked = this.lifecycle.marks.has(name)
    if (marked) this.lifecycle.applyDue(name)
    const raw = op === 'increment' ? map.increment(name, amount) : map.decrement(name, amount)
    return marked ? this.lifecycle.value(name) : raw
  }

  // How every durable local write ends: eager push, then the snapshot trigger.
  #publish(delta: Delta, record?: KeyRecord): void {
    this.replicator.localDurable(delta, record)
    this.#snapshots.maybe()
  }

  /**
   * Current value of counter `name` (0 if unknown). Throws TALLY_NAME_INVALID
   * (TallyError), TALLY_STORE_FAILED (NodeError) once the node is fenced, or
   * TALLY_VALUE_UNSAFE (TallyError) when the exact value is not a safe integer.
   */
  value(name: string): number {
    assertName(name)
    this.assertServing()
    return this.lifecycle.value(name)
  }

  /** True when counter `name` exists here (written, and not deleted or expired since). Throws as {@link value}. */
  exists(name: string): boolean {
    assertName(name)
    this.assertServing()
    return this.lifecycle.exists(name)
  }

  /** Names of the counters that exist here, sorted. Throws TALLY_STORE_FAILED once fenced. */
  names(): string[] {
    this.assertServing()
    return this.lifecycle.names()
  }

  /** Remaining ms of counter `name`'s TTL, or undefined when none is set. Throws as {@link value}. */
  ttlMs(name: string): number | undefined {
    assertName(name)
    this.assertServing()
    return this.lifecycle.ttlMs(name)
  }

  /**
   * Deletes counter `name` as this node has observed it (observed reset;
   * see CounterLifecycle.delete) and resolves once durable; a key makes a
   * retry answer the same, on any replica that holds its record. At
   * quorum/all the node first pulls the counter from that many replicas and
   * waits for that many to hold the mark after (resets/consistent-resets.ts).
   * Rejects as {@link mutate} (TALLY_QUORUM_TIMEOUT: see ConsistentResets.run).
   */
  async delete(name: string, key?: string, consistency: Consistency = 'one'): Promise<DeleteAnswer> {
    this.#assertWritable(name)
    return this.resets.run(name, consistency, key, () => this.lifecycle.delete(name, key))
  }

  /** Sets counter `name` to expire in `ttlMs` ms (see CounterLifecycle.expire). Rejects as {@link delete}, or TALLY_TTL_INVALID / TALLY_COUNTER_NOT_FOUND. */
  async expire(
    name: string,
    ttlMs: number,
    key?: string,
    consistency: Consistency = 'one',
  ): Promise<TtlAnswer> {
    this.#assertWritable(name)
    if (!isTtlMs(ttlMs)) return this.lifecycle.expire(name, ttlMs, key) // refused before any pull
    return this.resets.run(name, consistency, key, () => this.lifecycle.expire(name, ttlMs, key))
  }

  /** Removes counter `name`'s TTL (see CounterLifecycle.persist). Rejects as {@link delete}. */
  async persist(name: string, key?: string, consistency: Consistency = 'one'): Promise<TtlAnswer> {
    this.#assertWritable(name)
    return this.resets.run(name, consistency, key, () => this.lifecycle.persist(name, key))
  }

  #assertWritable(name: string): void {
    assertName(name)
    if (this.#stopping) throw new NodeError(NodeErrorCodes.SHUTTING_DOWN, 'node is shutting down')
    this.#fence.assertServing()
  }

  /**
   * The CounterMap state (with `name`: that counter only, empty version
   * summary). Throws TALLY_NAME_INVALID or TALLY_STORE_FAILED as {@link value}.
   */
  state(name?: string): CounterMapState {
    if (name !== undefined) assertName(name)
    this.assertServing()
    return name === undefined ? this.map.state() : this.map.state([name])
  }

  /** Throws TALLY_STORE_FAILED (NodeError) once a write could not be made durable; returns otherwise. */
  assertServing(): void {
    this.#fence.assertServing()
  }

  /** Why the node stopped serving after a storage failure, or null while it serves. */
  get storeFailure(): string | null {
    return this.#fence.failure
  }

  /** How many keyed requests this node can answer as repeats (its own applications of keys held). */
  get keyAnswers(): number {
    return this.#keyed.answers
  }

  /** Every known application of an Idempotency-Key (own and learnt), within retention. */
  get keys(): KeyLedger {
    return this.#keyed.ledger
  }

  /** Counters of cross-replica idempotency (live object, exposed on /metrics). */
  get keyStats(): KeyStats {
    return this.#keyed.stats
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

  /** Counters of the gossip transport. */
  transportStats(): TransportStats {
    return this.#o.transport.stats()
  }

  /** Gossip messages handed to / received from the transport, by direction and wire type. */
  get messageCounts(): MessageCounts {
    return this.#transport.counts
  }

  /** The store's counters (WAL batches, fsyncs, bytes…), or undefined for a store that keeps none. */
  get storeStats(): StoreStats | undefined {
    return this.#o.store.stats
  }

  /** Cluster size for quorum: known members incl. self, never below --cluster-size. */
  clusterSize(): number {
    return Math.max(this.membership.size(), this.#o.clusterSize)
  }

  /** Writes a snapshot unless one is running (then waits for it). Never rejects; failures are logged. */
  snapshot(): Promise<void> {
    return this.#snapshots.take()
  }

  /** Snapshots taken since start. */
  get snapshots(): number {
    return this.#snapshots.taken
  }

  // A restart builds the change logs out of seq order; the first peer to catch up would sort
  // them at once (about 100 ms a million records). Sorted here instead, a piece at a time
  // between requests; a read that comes first sorts what is left. Never rejects.
  async #sortLogsInTurns(): Promise<void> {
    const clock = turnClock()
    while (!this.#stopping && !this.map.prepareLogs(LOG_SORT_WORK)) if (clock.due()) await clock.turn()
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
    this.#snapshots.stop()
    this.lifecycle.stop()
    this.resets.stop()
    this.#keyed.stop()
    this.boundedReplication.stop()
    await Promise.all([
      this.#fence.settled(),
      this.#keyed.settled(),
      this.#limits?.stop(),
      this.bounded.stop(),
    ])
    await this.replicator.stop(1_000)
    await this.replicator.settled()
    await this.#snapshots.take()
    await this.#o.transport.close()
    await this.#o.store.close()
    this.#o.logger.info({ id: this.identity.nodeId }, 'node stopped')
  }
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
