// Idempotency-Keys of bounded-counter writes, across replicas. The same
// machinery as the plain counters' keyed writes (idempotency/): this node's
// answers and requests in flight in an IdempotencyTable, every known
// application of a key (own and learnt from peers) in a KeyLedger, records
// on the wire as key tuples. What differs: a bounded write has no CRDT
// sequence number, so a record's `seq` is its `at` (a replica applies a key
// at most once within retention, so `(key, replica, at)` names one
// application), and records travel with their counter's state (B_PUSH),
// found here by counter name. No I/O here: BoundedCounters logs what
// `learn` returns and writes the compensations `#check` asks for.

import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import { IdempotencyTable, type OpShape, sameOp } from '../idempotency/idempotency.js'
import { isKeyRecord, KeyLedger, type KeyRecord } from '../idempotency/key-ledger.js'
import { reconcile } from '../idempotency/key-reconcile.js'
import type { KeyStats } from '../idempotency/keyed-writes.js'
import type { IdempotencyRecord } from '../storage/store.js'

/** Counters of bounded key records (the plain keyed-write counters and three more), exposed in /stats `bounded` and on /metrics. */
export interface BoundedKeyStats extends KeyStats {
  /** Key records received on B_PUSH, and those new to this node (persisted). */
  keyRecordsIn: number
  keyRecordsLearnt: number
  /** Own losing applications that could not be cancelled (an increment whose rights were spent or given away). */
  compensationsRefused: number
}

/** What {@link BoundedKeys.admit} decides about a keyed bounded write. */
export type BoundedAdmission =
  /** Answer this, apply nothing: the key's first answer (here or on another replica). */
  | { kind: 'answer'; answer: { name: string; value: number } }
  /** New: apply it, and hand the write's promise to `track` (duplicates wait for it). */
  | { kind: 'apply'; track: (work: Promise<unknown>) => void }

/** Options of {@link BoundedKeys}. */
export interface BoundedKeysOptions {
  /** This node's bounded replica id (the `replica` of its own records). */
  replica: string
  logger: Logger
  /** Retention of a record from its `at`, ms. */
  ttlMs: number
  /** Most records kept (own in the table; own + learnt in the ledger), oldest dropped first. */
  maxKeys: number
  now?: () => number
  /**
   * Cancels own losing application `rec` of a duplicated key (the inverse
   * write, logged with `rec` marked compensated). Called at most once per
   * record while it runs; must not throw. Default: nothing.
   */
  compensate?: (rec: KeyRecord) => void
}

/** The key records of one node's bounded counters. */
export class BoundedKeys {
  /** This node's answers to keyed bounded writes, and those in flight. */
  readonly table: IdempotencyTable
  /** Every known application of a key to a bounded counter (own and learnt), within retention. */
  readonly ledger: KeyLedger
  readonly stats: BoundedKeyStats = {
    keyRecordsIn: 0,
    keyRecordsLearnt: 0,
    answeredFromPeers: 0,
    duplicates: 0,
    mismatches: 0,
    compensations: 0,
    compensationsRefused: 0,
  }
  readonly #o: BoundedKeysOptions
  readonly #now: () => number
  // Records by counter name (may hold expired ones: filtered on read, pruned then).
  readonly #byName = new Map<string, KeyRecord[]>()

  constructor(o: BoundedKeysOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    const now = this.#now
    this.table = new IdempotencyTable({ ttlMs: o.ttlMs, maxKeys: o.maxKeys, now })
    this.ledger = new KeyLedger({ ttlMs: o.ttlMs, maxRecords: o.maxKeys, now })
  }

  /**
   * Loads the records the bounded log recovered: every key record goes to
   * the ledger; own ones (and records from before bounded keys were
   * replicated, which are own) also answer repeats. Call once, before serving.
   */
  load(records: readonly IdempotencyRecord[]): void {
    const own: IdempotencyRecord[] = []
    for (const r of records) {
      if (!isKeyRecord(r)) {
        own.push(r)
        continue
      }
      const copy = { ...r }
      if (this.ledger.add(copy) === 'new') this.#index(copy)
    }
    for (const r of this.ledger.records()) if (r.replica === this.#o.replica) own.push(r)
    this.table.load(own)
  }

  /**
   * Decides what to do with a bounded write carrying `key`; waits while the
   * same request with that key is in flight here. A key this node or
   * another replica applied to the same request is answered with that
   * application's value. Rejects with TALLY_IDEMPOTENCY_MISMATCH (NodeError)
   * when the key was first used (here or elsewhere) for another request.
   */
  async admit(key: string, shape: OpShape): Promise<BoundedAdmission> {
    for (;;) {
      const c = this.table.check(key, shape)
      if (c.kind === 'done') return { kind: 'answer', answer: { name: c.record.name, value: c.record.value } }
      if (c.kind === 'mismatch') throw mismatch(c.first)
      if (c.kind === 'new') break
      await c.wait
    }
    const elsewhere = this.ledger.applications(key)[0]
    if (elsewhere) {
      if (!sameOp(elsewhere, shape)) throw mismatch(elsewhere)
      this.stats.answeredFromPeers++
      return { kind: 'answer', answer: { name: elsewhere.name, value: elsewhere.value } }
    }
    // In flight from now on: a duplicate admitted before the caller tracks its work waits too.
    let track: (work: Promise<unknown>) => void = () => {}
    const inflight = new Promise<unknown>((resolve) => {
      track = resolve
    })
    this.table.track(key, shape, inflight)
    return { kind: 'apply', track }
  }

  /**
   * For a key admitted here (in flight), learnt since to be applied by
   * another replica: that application's answer (counted in
   * `answeredFromPeers`), else undefined. Throws TALLY_IDEMPOTENCY_MISMATCH
   * (NodeError) when that application was another request.
   */
  appliedElsewhere(key: string, shape: OpShape): { name: string; value: number } | undefined {
    const elsewhere = this.ledger.applications(key)[0]
    if (!elsewhere) return undefined
    if (!sameOp(elsewhere, shape)) throw mismatch(elsewhere)
    this.stats.answeredFromPeers++
    return { name: elsewhere.name, value: elsewhere.value }
  }

  /** The record of this node's application of `key` to `shape`, answering `value`, on try `attempt`. */
  recordFor(key: string, shape: OpShape, value: number, attempt: number): KeyRecord {
    const at = this.#now()
    return { key, ...shape, value, at, replica: this.#o.replica, seq: at, attempt }
  }

  /** Called once the write of own `record` is durable: it answers repeats and travels to peers. Never throws. */
  settle(record: KeyRecord): void {
    this.table.remember(record)
    if (this.ledger.add(record) === 'new') {
      this.#index(record)
      this.#check(record.key)
    }
  }

  /**
   * Key records received from a peer (already validated): returns those new
   * to this node or newly marked compensated, which the caller must persist.
   * Never throws.
   */
  learn(records: readonly KeyRecord[]): KeyRecord[] {
    this.stats.keyRecordsIn += records.length
    const out: KeyRecord[] = []
    const fresh = new Set<string>()
    for (const r of records) {
      const res = this.ledger.add(r)
      if (res === 'new' || res === 'updated') out.push(r)
      if (res === 'new') {
        this.#index(r)
        fresh.add(r.key)
      }
    }
    this.stats.keyRecordsLearnt += out.length
    for (const key of fresh) this.#check(key)
    return out
  }

  /** The live records (own and learnt) of writes to the counters `names`. O(names + their records). */
  recordsOf(names: Iterable<string>): KeyRecord[] {
    const cutoff = this.#now() - this.#o.ttlMs
    const out: KeyRecord[] = []
    for (const name of names) {
      const list = this.#byName.get(name)
      if (!list) continue
      const live = list.filter((r) => r.at > cutoff && this.ledger.applications(r.key).includes(r))
      if (live.length === 0) this.#byName.delete(name)
      else if (live.length !== list.length) this.#byName.set(name, live)
      for (const r of live) out.push(r)
    }
    return out
  }

  /** Settles every key recovered with two or more applications (a crash may have come between learning a winner and compensating). */
  reconcileRecovered(): void {
    for (const key of this.ledger.duplicatedKeys()) this.#check(key)
  }

  /** Marks own application `rec` compensated (its inverse write is durable). */
  compensated(rec: KeyRecord): void {
    this.ledger.add({ ...rec, compensated: true })
    this.stats.compensations++
  }

  /** Every live record a snapshot must hold: the ledger's, plus the table's records from before bounded keys were replicated. */
  snapshotRecords(): IdempotencyRecord[] {
    return this.table
      .records()
      .filter((r) => !isKeyRecord(r))
      .concat(this.ledger.records())
  }

  #index(r: KeyRecord): void {
    const list = this.#byName.get(r.name)
    if (list) list.push(r)
    else this.#byName.set(r.name, [r])
  }

  // Two applications of one key mean a retry reached a replica before the
  // first application's record did: the reconcile rule of plain keyed writes
  // picks the one that stays; this node cancels its own losers.
  #check(key: string): void {
    const apps = this.ledger.applications(key)
    const v = reconcile(apps, this.#o.replica)
    if (v.kind === 'single') return
    const facts = apps.map((a) => [a.replica, a.attempt, a.name, a.op, a.amount])
    if (v.kind === 'mismatch') {
      this.stats.mismatches++
      this.#o.logger.warn(
        { key, applications: facts },
        'a bounded idempotency key was applied with different requests on different replicas',
      )
    } else {
      this.stats.duplicates++
      this.#o.logger.warn(
        { key, applications: facts },
        'a bounded idempotency key was applied on two replicas before its record reached the second',
      )
      for (const loser of v.compensate) this.#o.compensate?.(loser)
    }
  }
}

function mismatch(first: OpShape): NodeError {
  return new NodeError(
    NodeErrorCodes.IDEMPOTENCY_MISMATCH,
    `Idempotency-Key was first used for ${first.op} ${first.amount} of bounded counter ${first.name}`,
  )
}
