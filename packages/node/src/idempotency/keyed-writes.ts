// The keyed-write flow: what a node does with an Idempotency-Key around the
// plain write path. Before a write: answer a repeat, wait for a concurrent
// duplicate, refuse a key reused for another request, answer a key another
// replica applied. After the write is durable: remember its record and meet
// it with the other known applications of its key. Key records learnt from
// peers go through here too; when a key turns out applied twice, the
// reconcile rule (key-reconcile.ts) picks the application that stays and
// this node cancels its own losers with an inverse write (compensation).

import type { CounterMap, Delta } from '@tally/crdt'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { KeyHooks } from '../replication/replicator.js'
import type { IdempotencyRecord } from '../storage/store.js'
import { turnClock } from '../storage/turn-budget.js'
import type { WriteFence } from '../storage/write-fence.js'
import { IdempotencyTable, type OpShape, sameOp } from './idempotency.js'
import { isKeyRecord, KeyLedger, type KeyRecord } from './key-ledger.js'
import { reconcile } from './key-reconcile.js'

// Records put in the key ledger between two looks at the turn clock while loading: about
// half a millisecond of the ledger's own work at a time (300 000 records load in 138–226 ms,
// bench/key-ledger.mjs), a growth of one or two of its index's 64 tables included (key-index.ts).
const LOAD_PIECE = 1024

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

/** What {@link KeyedWrites.decide} decides about a keyed request. */
export type Decision =
  /** A repeat of a request this node answered: answer the same, apply nothing. */
  | { kind: 'repeat'; answer: { name: string; value: number } }
  /** Another replica applied the key for this request: answer the current value, apply nothing. */
  | { kind: 'applied-elsewhere' }
  /** The same request with this key is in flight here: decide again once `wait` resolves (it never rejects). */
  | { kind: 'wait'; wait: Promise<void> }
  /**
   * New: apply it, and hand the write's promise to {@link KeyedWrites.track}
   * in the same synchronous run (a duplicate decided after that waits for it).
   */
  | { kind: 'apply' }

const APPLY: Decision = { kind: 'apply' }
const APPLIED_ELSEWHERE: Decision = { kind: 'applied-elsewhere' }

/** Options of {@link KeyedWrites}. Durations in ms. */
export interface KeyedWritesOptions {
  map: CounterMap
  fence: WriteFence
  logger: Logger
  /** How long a key is remembered (from its first acknowledgement). */
  ttlMs: number
  /** Most key records remembered (own and learnt, in the ledger; and as many answers from before keys were replicated), oldest dropped first. */
  maxKeys: number
  /**
   * Hands on a compensation once it is durable, as every local write ends:
   * eager push and the snapshot trigger. Must not throw.
   */
  publish: (delta: Delta) => void
  /**
   * Called before a compensation's inverse operation on counter `name`, as
   * before any local write: lifts own totals after a garbage collection and
   * applies a due expiry first (resets/counter-gc.ts, counter-lifecycle.ts).
   * Its own operations go into the compensation's delta and log record. May
   * throw what the map's writes throw (the compensation is not written then).
   */
  beforeWrite?: (name: string) => void
}

/**
 * Owns the key ledger (every known application, own and learnt: this
 * node's own answer its retries), the Idempotency-Key table (requests in
 * flight, and answers from before keys were replicated), and writes the
 * compensations the reconcile rule asks of this node.
 */
export class KeyedWrites implements KeyHooks {
  /**
   * Keyed requests in flight, and this node's answers from before keys were
   * replicated (records without replica and seq). Every other answer of this
   * node is its own application in the ledger.
   */
  readonly table: IdempotencyTable
  /** Every known application of an Idempotency-Key (own and learnt), within retention. */
  readonly ledger: KeyLedger
  readonly stats: KeyStats = { answeredFromPeers: 0, duplicates: 0, compensations: 0, mismatches: 0 }
  readonly #o: KeyedWritesOptions
  // Own applications whose compensation is being written.
  readonly #compensating = new Set<KeyRecord>()
  readonly #inflight = new Set<Promise<void>>()
  #stopping = false

  constructor(o: KeyedWritesOptions) {
    this.#o = o
    this.table = new IdempotencyTable({ ttlMs: o.ttlMs, maxKeys: o.maxKeys })
    this.ledger = new KeyLedger({ ttlMs: o.ttlMs, maxRecords: o.maxKeys })
  }

  /**
   * Loads the records the store recovered, and takes them over (the ledger
   * keeps these very objects, and marks them when compensated): key records
   * go to the ledger (this node's own among them answer its retries), records
   * from before keys were replicated to the table. Call once, before
   * serving. `records` as the store recovers them: one per application,
   * oldest first.
   */
  load(records: readonly IdempotencyRecord[]): void {
    const legacy: IdempotencyRecord[] = []
    for (let i = 0; i < records.length; i += LOAD_PIECE) this.#loadPiece(records, i, legacy)
    this.table.load(legacy)
  }

  /**
   * As {@link load}, but giving the event loop a turn every TURN_BUDGET_MS
   * of work (storage/turn-budget.ts): hundreds of thousands of recovered
   * records never hold the loop in one block. Same result as `load`.
   */
  async loadInTurns(records: readonly IdempotencyRecord[]): Promise<void> {
    const clock = turnClock()
    const legacy: IdempotencyRecord[] = []
    // Into the ledger a piece at a time, one look at the clock a piece.
    for (let i = 0; i < records.length; i += LOAD_PIECE) {
      this.#loadPiece(records, i, legacy)
      if (clock.due()) await clock.turn()
    }
    // Few (only data dirs from before keys were replicated have them).
    this.table.load(legacy)
  }

  // Records [from, from + LOAD_PIECE): the key records into the ledger, the others into `legacy`.
  #loadPiece(records: readonly IdempotencyRecord[], from: number, legacy: IdempotencyRecord[]): void {
    const keys: KeyRecord[] = []
    for (let i = from; i < records.length && i < from + LOAD_PIECE; i++) {
      const r = records[i] as IdempotencyRecord
      if (isKeyRecord(r)) keys.push(r)
      else legacy.push(r)
    }
    this.ledger.addAll(keys)
  }

  /** Settles every key recovered with two or more applications (a crash may have come between learning a winner and compensating). */
  reconcileRecovered(): void {
    for (const key of this.ledger.duplicatedKeys()) this.#check(key)
  }

  /**
   * Decides what to do with a request carrying `key`, synchronously (no
   * promise unless a duplicate is in flight). Throws TALLY_IDEMPOTENCY_MISMATCH
   * when the key was first used (here or by another replica) for another request.
   */
  decide(key: string, shape: OpShape): Decision {
    // One look into the ledger for a key it does not hold (every new key): no application, so no own one.
    const mine = this.#o.map.replica
    const elsewhere = this.ledger.firstApplication(key)
    const own =
      elsewhere === undefined || elsewhere.replica === mine ? elsewhere : this.ledger.applicationBy(key, mine)
    if (own) {
      if (!sameOp(own, shape)) throw mismatch(own)
      return { kind: 'repeat', answer: { name: own.name, value: own.value } }
    }
    const c = this.table.check(key, shape)
    if (c.kind === 'done') return { kind: 'repeat', answer: { name: c.record.name, value: c.record.value } }
    if (c.kind === 'mismatch') throw mismatch(c.first)
    if (c.kind === 'inflight') return { kind: 'wait', wait: c.wait }
    if (elsewhere) {
      if (!sameOp(elsewhere, shape)) throw mismatch(elsewhere)
      this.stats.answeredFromPeers++
      return APPLIED_ELSEWHERE
    }
    return APPLY
  }

  /** Counts the write `work` of a request {@link decide} answered `apply` as in flight under `key` until it settles. */
  track(key: string, shape: OpShape, work: Promise<unknown>): void {
    this.table.track(key, shape, work)
  }

  /** The key record of own operation `seq` that applied `shape` with `key`, answering `value`. Pure. */
  recordFor(key: string, shape: OpShape, value: number, seq: number, attempt: number): KeyRecord {
    // Fields written out (no spread: this runs once per keyed write).
    const { name, op, amount } = shape
    return { key, name, op, amount, value, at: Date.now(), replica: this.#o.map.replica, seq, attempt }
  }

  /**
   * Called once the write of `record` is durable: repeats are answered from
   * it, and it meets the other applications of its key (which may make this
   * node compensate a loser). Never throws.
   */
  settle(record: KeyRecord): void {
    if (this.ledger.add(record) === 'new') this.#check(record.key)
  }

  /** Key records learnt from a peer: returns those to persist (new or newly compensated); checks each key newly learnt. */
  learn(records: KeyRecord[]): KeyRecord[] {
    const out: KeyRecord[] = []
    const fresh = new Set<string>()
    for (const r of records) {
      const res = this.ledger.add(r)
      if (res === 'new' || res === 'updated') out.push(r)
      if (res === 'new') fresh.add(r.key)
    }
    for (const key of fresh) this.#check(key)
    return out
  }

  /** The records a holder of version summary `has` lacks (own ones only up to `durableSeq`). */
  select(has: (replica: string) => number, durableSeq: number): KeyRecord[] {
    return this.ledger.select(has, this.#o.map.replica, durableSeq)
  }

  /**
   * Every live record a snapshot must hold: the table's records from before
   * keys were replicated, then the ledger's. Not the records of writes still
   * in flight: the write fence has those.
   */
  snapshotRecords(): IdempotencyRecord[] {
    return this.table.records().concat(this.ledger.records())
  }

  /** How many keyed requests this node can answer as repeats: its own applications held, and its answers from before keys were replicated. */
  get answers(): number {
    return this.table.size + this.ledger.heldBy(this.#o.map.replica)
  }

  /** Starts no compensation from now on. */
  stop(): void {
    this.#stopping = true
  }

  /** Resolves once the compensations being written now have settled. Never rejects. */
  async settled(): Promise<void> {
    await Promise.all([...this.#inflight])
  }

  // Applies the reconcile rule to one key: compensates this node's losing applications.
  #check(key: string): void {
    // One application (the common case: every new key) is never a duplicate: no arrays to build.
    if (this.ledger.held(key) < 2) return
    const apps = this.ledger.applications(key)
    const v = reconcile(apps, this.#o.map.replica)
    if (v.kind === 'mismatch') {
      this.stats.mismatches++
      this.#o.logger.warn(
        { key, applications: apps.map((a) => [a.replica, a.seq, a.name, a.op, a.amount]) },
        'an idempotency key was applied with different requests on different replicas (not compensated)',
      )
    } else if (v.kind === 'duplicate') {
      this.stats.duplicates++
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
    const { map, logger: log } = this.#o
    const before = map.seq
    try {
      // The same lift as any write (a counter collected since the duplicate): in the same delta.
      this.#o.beforeWrite?.(rec.name)
      if (rec.op === 'increment') map.decrement(rec.name, rec.amount)
      else map.increment(rec.name, rec.amount)
    } catch (err) {
      log.error({ err, key: rec.key, name: rec.name }, 'cannot compensate a duplicate application')
      return
    }
    const delta = map.deltaFor(map.replica, before)
    const updated: KeyRecord = { ...rec, compensated: true }
    try {
      // Pending from its first seq on (a lift may come before the inverse operation).
      await this.#o.fence.append(before + 1, delta, updated)
    } catch (err) {
      log.error({ err, key: rec.key }, 'appendLocal of a compensation failed')
      return
    }
    this.ledger.add(updated)
    this.stats.compensations++
    log.info(
      { key: rec.key, name: rec.name, op: rec.op, amount: rec.amount, replica: rec.replica, seq: rec.seq },
      'cancelled a duplicate application of an idempotency key',
    )
    this.#o.publish(delta)
  }
}

function mismatch(first: OpShape): NodeError {
  return new NodeError(
    NodeErrorCodes.IDEMPOTENCY_MISMATCH,
    `Idempotency-Key was first used for ${first.op} ${first.name} by ${first.amount}`,
  )
}
