// The write path of bounded counters: validate → (get rights if short) →
// apply to the BoundedCounter → log durably → answer → replicate. Also
// recovery from the BoundedStore, keyed (idempotent) writes, the grants this
// node makes when a peer asks for rights, and which state of a counter may
// leave the node (only durable ones: see `shareable`). No sockets here: the
// gossip side (bounded-replication.ts) plugs in through `hooks`.

import {
  assertAmount,
  assertName,
  BoundExceededError,
  type BoundedCounter,
  type BoundedCounterState,
  grantFor,
  richestReplica,
} from '@tally/crdt'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { OpShape } from '../idempotency/idempotency.js'
import type { KeyRecord } from '../idempotency/key-ledger.js'
import { BoundedKeys } from './bounded-keys.js'
import { BoundedMap } from './bounded-map.js'
import type { BoundedRecovered, BoundedStore } from './bounded-store.js'
import { nodeIdOf } from './replica-ids.js'

const EMPTY_STATE: BoundedCounterState = { p: {}, n: {}, r: {} }

/** A bounded-counter write. */
export interface BoundedRequest extends OpShape {
  /** Idempotency-Key of the request, if any (already validated by the edge). */
  key?: string | undefined
  /** Which try this is (`Tally-Attempt`, 1 = first, default 1); only meaningful with a key. */
  attempt?: number | undefined
}

/** A bounded counter as GET shows it: value and every replica's rights, as this node knows them. */
export interface BoundedView {
  name: string
  value: number
  rights: Record<string, number>
}

/** Options of {@link BoundedCounters.open}. */
export interface BoundedCountersOptions {
  /** This node's CRDT replica id (its rights). */
  replica: string
  store: BoundedStore
  logger: Logger
  idempotencyTtlMs: number
  idempotencyMaxKeys: number
}

/** Counters about bounded counters, exposed on /metrics. */
export interface BoundedStats {
  increments: number
  decrements: number
  /** Decrements answered TALLY_BOUND_EXCEEDED. */
  refused: number
  /** Transfers this node granted to peers, and the rights they moved. */
  grantsOut: number
  rightsOut: number
}

/** How the write path reaches the gossip side. */
export interface BoundedHooks {
  /** A durable local change of `name` (eager push), with the key record of the write that made it. Never throws. */
  publish(name: string, state: BoundedCounterState, record?: KeyRecord): void
  /** Tries to get at least `amount` rights of `name` here (bounded wait). Never rejects. */
  acquire(name: string, amount: number): Promise<void>
}

/** The bounded counters of one node. Create with {@link BoundedCounters.open}. */
export class BoundedCounters {
  readonly map: BoundedMap
  /** Key records of keyed bounded writes, own and learnt from peers. */
  readonly keys: BoundedKeys
  readonly stats: BoundedStats = { increments: 0, decrements: 0, refused: 0, grantsOut: 0, rightsOut: 0 }
  hooks: BoundedHooks = { publish: () => {}, acquire: async () => {} }
  readonly #store: BoundedStore
  readonly #logger: Logger
  // Appends in flight per counter, and each counter's latest state known durable.
  readonly #pending = new Map<string, number>()
  readonly #durable = new Map<string, BoundedCounterState>()
  readonly #inflight = new Set<Promise<void>>()
  // Own losing applications whose compensation is being written.
  readonly #compensating = new Set<KeyRecord>()
  #failure: string | null = null
  #stopping = false
  #snapshotting = false

  private constructor(o: BoundedCountersOptions) {
    this.map = new BoundedMap(o.replica)
    this.keys = new BoundedKeys({
      replica: o.replica,
      logger: o.logger,
      ttlMs: o.idempotencyTtlMs,
      maxKeys: o.idempotencyMaxKeys,
      compensate: (rec) => this.#compensate(rec),
    })
    this.#store = o.store
    this.#logger = o.logger
  }

  /**
   * Opens the store and rebuilds every bounded counter from it. States the
   * CRDT refuses are skipped with a warning. Rejects with the store's error.
   */
  static async open(o: BoundedCountersOptions): Promise<BoundedCounters> {
    return BoundedCounters.fromRecovered(o, await o.store.open())
  }

  /**
   * Rebuilds every bounded counter from `rec`, what `o.store.open()` returned
   * (the store then open: e.g. opened early, beside the main store). States
   * the CRDT refuses are skipped with a warning. Blocks for the rebuild.
   */
  static fromRecovered(o: BoundedCountersOptions, rec: BoundedRecovered): BoundedCounters {
    const b = new BoundedCounters(o)
    for (const w of rec.warnings) o.logger.warn({ warning: w }, 'bounded store recovery')
    let skipped = 0
    for (const [name, state] of rec.states) {
      try {
        b.map.merge(name, state)
      } catch {
        skipped++
      }
    }
    if (skipped > 0) o.logger.warn({ skipped }, 'skipped invalid bounded-counter states found in the store')
    b.keys.load(rec.idempotency)
    b.keys.reconcileRecovered()
    return b
  }

  /**
   * Applies an increment or decrement of bounded counter `name` and resolves
   * with the value once the change is durable. A decrement the local rights
   * do not cover first waits (bounded) for rights from peers; if they still
   * do not cover it, rejects with NodeError TALLY_BOUND_EXCEEDED (details:
   * localRights, value, requested, and `holder`: the node id of the replica
   * that holds the most rights as this node knows it, if any) and changes
   * nothing. With a key, a repeat resolves with the first answer, also when
   * another replica gave it (its key record reached this node with the
   * counter's state), and changes nothing; the same key with another
   * request rejects TALLY_IDEMPOTENCY_MISMATCH. Also
   * rejects TALLY_NAME_INVALID / TALLY_AMOUNT_INVALID / TALLY_OVERFLOW /
   * TALLY_VALUE_UNSAFE (TallyError), TALLY_STORE_FAILED, TALLY_SHUTTING_DOWN.
   */
  async mutate(req: BoundedRequest): Promise<{ name: string; value: number }> {
    assertName(req.name)
    assertAmount(req.amount)
    this.#assertServing()
    const shape: OpShape = { name: req.name, op: req.op, amount: req.amount }
    if (req.key === undefined) return this.#apply(shape, undefined, 1)
    const admission = await this.keys.admit(req.key, shape)
    if (admission.kind === 'answer') return admission.answer
    const work = this.#apply(shape, req.key, req.attempt ?? 1)
    admission.track(work)
    return work
  }

  async #apply(
    shape: OpShape,
    key: string | undefined,
    attempt: number,
  ): Promise<{ name: string; value: number }> {
    const { name, amount } = shape
    let c: BoundedCounter
    let state: BoundedCounterState
    if (shape.op === 'increment') {
      c = this.map.ensure(name)
      c.increment(amount)
      state = c.state()
      this.stats.increments++
    } else {
      if ((this.map.get(name)?.localRights ?? 0) < amount) {
        await this.hooks.acquire(name, amount)
        this.#assertServing()
        // The grants carried the granters' key records: the key may turn out applied elsewhere.
        const done = key === undefined ? undefined : this.keys.appliedElsewhere(key, shape)
        if (done) return done
      }
      const known = this.map.get(name)
      if (!known) throw this.#refusal(name, amount, undefined)
      c = known
      try {
        state = c.decrement(amount)
      } catch (err) {
        if (err instanceof BoundExceededError) throw this.#refusal(name, amount, c)
        throw err
      }
      this.stats.decrements++
    }
    this.map.touch()
    const value = c.value
    const idem = key === undefined ? undefined : this.keys.recordFor(key, shape, value, attempt)
    await this.#log(name, state, true, idem)
    if (idem) this.keys.settle(idem)
    this.hooks.publish(name, state, idem)
    this.#maybeSnapshot()
    return { name, value }
  }

  #refusal(name: string, amount: number, c: BoundedCounter | undefined): NodeError<string> {
    this.stats.refused++
    const localRights = c?.localRights ?? 0
    const value =
      c === undefined
        ? 0
        : Number(c.bigValue > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : c.bigValue)
    const details: Record<string, number | string> = { localRights, value, requested: amount }
    const richest = c === undefined ? undefined : richestReplica(c.state(), this.map.replica)
    if (richest !== undefined) {
      details.holder = nodeIdOf(richest)
      details.holderRights = c!.rights(richest)
    }
    return new NodeError(
      NodeErrorCodes.BOUND_EXCEEDED,
      `decrement of ${amount} refused: this node holds ${localRights} rights of bounded counter ${JSON.stringify(name)} (cluster value ${value}) and peers granted no more in time`,
      { details },
    )
  }

  // Logs `state` of `name`; while in flight, `shareable(name)` is the last durable state.
  async #log(name: string, state: BoundedCounterState, local: boolean, idem?: KeyRecord): Promise<void> {
    this.#pending.set(name, (this.#pending.get(name) ?? 0) + 1)
    const write = this.#store.append(idem ? { name, state, idem } : { name, state }, local)
    const done = write.then(
      () => {},
      () => {},
    )
    this.#inflight.add(done)
    try {
      await write
      // Appends resolve in the order they were made: this is the latest durable state.
      this.#durable.set(name, state)
    } catch (err) {
      if (this.#failure === null) {
        this.#failure = (err as Error).message
        this.#logger.error(
          { err },
          'bounded-counter log append failed: bounded counters stop serving until restarted',
        )
      }
      throw new NodeError(
        NodeErrorCodes.STORE_FAILED,
        `the write could not be made durable: ${(err as Error).message}`,
        {
          cause: err,
        },
      )
    } finally {
      this.#inflight.delete(done)
      // After a failure the count stays up: only the durable state leaves the node.
      if (this.#failure === null) this.#pending.set(name, (this.#pending.get(name) ?? 1) - 1)
    }
  }

  /**
   * The state of `name` that may leave this node: the live one when no own
   * change of it is still being written, else the latest durable one
   * (undefined when there is none yet). A peer never sees rights spent or
   * given here that a crash could undo.
   */
  shareable(name: string): BoundedCounterState | undefined {
    const c = this.map.get(name)
    if (!c) return undefined
    if ((this.#pending.get(name) ?? 0) > 0 || this.#failure !== null) return this.#durable.get(name)
    return c.state()
  }

  /**
   * Merges a state of `name` from a peer and logs it when it changed
   * something (not awaited; a failed log fences bounded writes). Returns
   * true if it changed; false, merging nothing, once the node is stopping. Throws TALLY_DELTA_INVALID (TallyError) for a
   * malformed or inconsistent state; nothing changes then.
   */
  mergeRemote(name: string, state: unknown): boolean {
    // Stopping: the store closes soon; the peer keeps the state and anti-entropy brings it back.
    if (this.#stopping) return false
    if (!this.map.merge(name, state)) return false
    const c = this.map.get(name)!
    this.#log(name, c.state(), false).then(
      () => this.#maybeSnapshot(),
      () => {},
    )
    return true
  }

  // Cancels own losing application `rec` of a duplicated key: the inverse
  // write (an increment for a decrement: always possible; a decrement for an
  // increment: only while this replica still holds the rights), logged with
  // `rec` marked compensated (so once, across restarts), then pushed.
  #compensate(rec: KeyRecord): void {
    if (this.#stopping || this.#failure !== null || rec.compensated === true) return
    if (this.#compensating.has(rec)) return
    const c = rec.op === 'decrement' ? this.map.ensure(rec.name) : this.map.get(rec.name)
    let state: BoundedCounterState | undefined
    let reason = 'no rights of it here'
    try {
      if (c && rec.op === 'decrement') {
        c.increment(rec.amount)
        state = c.state()
      } else if (c) state = c.decrement(rec.amount)
    } catch (err) {
      // Rights spent or given away (BoundExceededError), or an increment past the limit.
      reason = (err as Error).message
    }
    if (state === undefined) {
      this.keys.stats.compensationsRefused++
      this.#logger.warn(
        { key: rec.key, name: rec.name, op: rec.op, amount: rec.amount, reason },
        'cannot cancel a duplicate application of a bounded idempotency key',
      )
      return
    }
    this.map.touch()
    this.#compensating.add(rec)
    const updated: KeyRecord = { ...rec, compensated: true }
    this.#log(rec.name, state, true, updated).then(
      () => {
        this.#compensating.delete(rec)
        this.keys.compensated(updated)
        this.#logger.info(
          { key: rec.key, name: rec.name, op: rec.op, amount: rec.amount },
          'cancelled a duplicate application of a bounded idempotency key',
        )
        this.hooks.publish(rec.name, state, updated)
        this.#maybeSnapshot()
      },
      () => this.#compensating.delete(rec),
    )
  }

  /**
   * Key records of keyed bounded writes learnt from a peer (validated by the
   * wire): each one new to this node is logged (not awaited, like a merged
   * state) and from then on answers a retry of its key here. Returns how
   * many were new. Learns nothing once the node is stopping. Never throws.
   */
  learnKeys(records: readonly KeyRecord[]): number {
    if (this.#stopping || records.length === 0) return 0
    const learnt = this.keys.learn(records)
    for (const r of learnt) {
      const state = this.shareable(r.name) ?? EMPTY_STATE
      this.#log(r.name, state, false, r).then(
        () => this.#maybeSnapshot(),
        () => {},
      )
    }
    return learnt.length
  }

  /**
   * A peer (replica `requester`) asks for `wanted` rights of `name`: gives
   * what {@link grantFor} allows (the default policy: what was asked, or all
   * this node holds when less), makes the transfer durable, and resolves
   * with the rights given and the state to send back (which records the
   * transfer). Resolves `granted: 0` with the shareable state when nothing
   * is spared, and null when the transfer could not be made durable (send
   * nothing: the rights are not given). Never rejects.
   */
  async grant(
    name: string,
    requester: string,
    wanted: number,
  ): Promise<{ granted: number; state: BoundedCounterState } | null> {
    const c = this.map.get(name)
    const none = () => ({ granted: 0, state: this.shareable(name) ?? EMPTY_STATE })
    if (!c || this.#failure !== null || this.#stopping || requester === this.map.replica) return none()
    let granted: number
    try {
      granted = grantFor(c.state(), this.map.replica, requester, wanted)
    } catch {
      return none()
    }
    if (granted === 0) return none()
    const state = c.transfer(requester, granted)
    this.map.touch()
    try {
      await this.#log(name, state, true)
    } catch {
      return null
    }
    this.stats.grantsOut++
    this.stats.rightsOut += granted
    this.#maybeSnapshot()
    return { granted, state }
  }

  /**
   * `{name, value, rights}` of bounded counter `name` as this node knows it
   * (value 0 and no rights for an unknown one). Throws TALLY_NAME_INVALID,
   * TALLY_STORE_FAILED once the bounded log failed, TALLY_VALUE_UNSAFE past 2^53−1.
   */
  view(name: string): BoundedView {
    assertName(name)
    this.#assertServing(false)
    const c = this.map.get(name)
    const rights: Record<string, number> = {}
    if (!c) return { name, value: 0, rights }
    for (const r of c.replicas()) {
      const n = c.rights(r)
      if (n > 0) rights[r] = n
    }
    return { name, value: c.value, rights }
  }

  #assertServing(writing = true): void {
    if (writing && this.#stopping) throw new NodeError(NodeErrorCodes.SHUTTING_DOWN, 'node is shutting down')
    if (this.#failure !== null) {
      throw new NodeError(
        NodeErrorCodes.STORE_FAILED,
        `bounded counters stopped serving after a write could not be made durable (${this.#failure}); restart the node once storage is fixed`,
      )
    }
  }

  #maybeSnapshot(): void {
    if (this.#snapshotting || this.#stopping || !this.#store.needsSnapshot()) return
    void this.snapshot()
  }

  /** Writes a snapshot of every counter and live key record. Never rejects; failures are logged. */
  async snapshot(): Promise<void> {
    if (this.#snapshotting || this.#failure !== null) return
    this.#snapshotting = true
    try {
      await this.#store.snapshot(() => ({
        states: this.map.names().map((n) => [n, this.map.get(n)!.state()]),
        idempotency: this.keys.snapshotRecords(),
      }))
    } catch (err) {
      this.#logger.warn({ err }, 'bounded-counter snapshot failed (the log still holds everything)')
    } finally {
      this.#snapshotting = false
    }
  }

  /** Refuses new writes, waits for appends in flight, snapshots and closes the store. Never rejects. */
  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    await Promise.all([...this.#inflight])
    await this.snapshot()
    await this.#store
      .close()
      .catch((err: unknown) => this.#logger.warn({ err }, 'closing the bounded store failed'))
  }
}
