// A node's rate limits: the table of window buckets, their store, their
// replication and the keys of recent hits, behind one small interface the
// node wires (start, the gossip hooks, stop) and the edges call (hit). Every
// node answers a hit alone, from its own view: no coordination on the hot
// path. The over-admission this allows is bounded in docs/crdt.md.

import { assertName } from '@tally/crdt'
import type { LimitAnswer, LimitHit } from '@tally/kit'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { Membership } from '../membership/membership.js'
import type { LimitsMsg } from '../wire/limit-messages.js'
import type { Transport } from '../wire/transport.js'
import { LimitKeys } from './limit-keys.js'
import { LimitReplication } from './limit-replication.js'
import type { LimitStore } from './limit-store.js'
import { LIMIT_SKEW_MS, LimitTable } from './limit-table.js'

/** Options of {@link Limits.open}. */
export interface LimitsOptions {
  /** This node's replica id. */
  replica: string
  store: LimitStore
  transport: Transport
  membership: Membership
  logger: Logger
  fanout: number
  eagerPush: boolean
  /** Most Idempotency-Keys of hits remembered. */
  maxKeys: number
  /** Throws (TALLY_SHUTTING_DOWN, TALLY_STORE_FAILED) when the node must not take a hit now. */
  assertServing: () => void
  /** Clock, ms since the epoch (default Date.now). */
  now?: () => number
}

/** Least time between two garbage collections of buckets, ms. */
const GC_EVERY_MS = 1_000

/** The rate limits of one node. Create with {@link Limits.open}; {@link stop} before closing the store. */
export class Limits {
  readonly table: LimitTable
  readonly replication: LimitReplication
  readonly keys: LimitKeys
  readonly #o: LimitsOptions
  readonly #now: () => number
  readonly #pending = new Set<Promise<unknown>>()
  #lastGc = 0
  /** Buckets dropped by GC since start. */
  dropped = 0

  private constructor(o: LimitsOptions, table: LimitTable) {
    this.#o = o
    this.#now = o.now ?? Date.now
    this.table = table
    this.keys = new LimitKeys(o.maxKeys)
    this.replication = new LimitReplication({ ...o, table, now: this.#now })
  }

  /**
   * Loads the live buckets from `o.store` (dead ones are neither read nor
   * kept) and returns the limits. Rejects if the store cannot be read.
   */
  static async open(o: LimitsOptions): Promise<Limits> {
    const now = (o.now ?? Date.now)()
    const table = new LimitTable(o.replica)
    const { tuples, skipped } = await o.store.load(now - LIMIT_SKEW_MS)
    table.merge(tuples, now)
    if (skipped > 0) o.logger.warn({ skipped }, 'skipped unreadable rate-limit bucket rows')
    return new Limits(o, table)
  }

  /**
   * One hit against limit `name`: decided on this node's view; an allowed
   * hit is counted, pushed to peers, made durable, and only then answered. With `key`, a repeat answers as the first time and counts
   * nothing. Rejects with TallyError TALLY_NAME_INVALID, NodeError
   * TALLY_SHUTTING_DOWN / TALLY_STORE_FAILED (an allowed hit that could not
   * be made durable stays counted here: the limiter errs on refusing) or
   * TALLY_IDEMPOTENCY_MISMATCH. `hit` must be checked (`checkLimitHit`).
   */
  hit(name: string, hit: LimitHit, key?: string): Promise<LimitAnswer> {
    try {
      assertName(name)
      this.#o.assertServing()
    } catch (err) {
      return Promise.reject(err)
    }
    if (key === undefined) return this.#hit(name, hit)
    return this.keys.answer(key, { name, ...hit }, this.#now(), () => this.#hit(name, hit))
  }

  async #hit(name: string, hit: LimitHit): Promise<LimitAnswer> {
    const { decision, tuple } = this.table.hit(name, hit.limit, hit.windowMs, hit.amount, this.#now())
    const answer: LimitAnswer = {
      allowed: decision.allowed,
      limit: hit.limit,
      remaining: decision.remaining,
      resetMs: decision.resetMs,
    }
    if (!tuple) return answer
    // Pushed at once, before the fsync: the other nodes' view lags by the network only (the
    // replication delay d of the over-admission bound). See "Push before durable" in docs/protocol.md.
    this.replication.local(tuple)
    const p = this.#o.store.write([tuple])
    this.#pending.add(p)
    try {
      await p
    } catch (err) {
      throw new NodeError(NodeErrorCodes.STORE_FAILED, 'the hit could not be made durable', { cause: err })
    } finally {
      this.#pending.delete(p)
    }
    return answer
  }

  /** The gossip round's share: GC (at most once a second), then the digest to `targets`. Never throws. */
  round(targets: readonly string[]): void {
    const now = this.#now()
    if (now - this.#lastGc >= GC_EVERY_MS) {
      this.#lastGc = now
      this.dropped += this.table.gc(now)
      this.keys.sweep(now)
      this.#o.store.drop(now - LIMIT_SKEW_MS).catch((err: unknown) => {
        this.#o.logger.warn({ err }, 'dropping old rate-limit buckets from the store failed (retried)')
      })
    }
    this.replication.round(targets)
  }

  /** A LIMITS message from a peer. Never throws on its content. */
  receive(msg: LimitsMsg): void {
    this.replication.receive(msg)
  }

  /** Pushes what is queued and waits for every write in flight. Never rejects. */
  async stop(): Promise<void> {
    this.replication.flush()
    await Promise.allSettled([...this.#pending])
    await this.#o.store.settled()
  }
}
