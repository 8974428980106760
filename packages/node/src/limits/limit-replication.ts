// Replication of rate-limit buckets over the gossip transport. Buckets are
// state, so the protocol is plain: an allowed hit's tuple goes out by eager
// push at once (batched per turn of the event loop); a peer that grew
// from tuples forwards what grew; each gossip round sends the digest of the
// live buckets, and a peer whose digest differs answers with all of its live
// buckets and asks back. Rounds send nothing while no limit is live, so a
// cluster that never uses limits never sends a LIMITS frame.

import type { Logger } from 'pino'
import type { Membership } from '../membership/membership.js'
import { type BucketTuple, type LimitsMsg, MAX_BUCKET_TUPLES } from '../wire/limit-messages.js'
import { MsgType } from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import type { LimitStore } from './limit-store.js'
import type { LimitTable } from './limit-table.js'

/** Received tuples are forwarded only up to this many (bigger sets are anti-entropy answers). */
const FORWARD_MAX = 1_000

/** Options of {@link LimitReplication}. */
export interface LimitReplicationOptions {
  table: LimitTable
  store: LimitStore
  transport: Transport
  membership: Membership
  logger: Logger
  fanout: number
  eagerPush: boolean
  now: () => number
}

/** Replication counters of the limit buckets (exposed by the node). */
export interface LimitReplicationStats {
  /** Tuples received, and how many of them grew a bucket here. */
  tuplesIn: number
  tuplesMerged: number
  /** LIMITS frames sent. */
  framesOut: number
}

/** The I/O around {@link LimitTable} for replication. */
export class LimitReplication {
  readonly #o: LimitReplicationOptions
  readonly stats: LimitReplicationStats = { tuplesIn: 0, tuplesMerged: 0, framesOut: 0 }
  #outbox: BucketTuple[] = []
  #scheduled = false

  constructor(o: LimitReplicationOptions) {
    this.#o = o
  }

  /**
   * Queues the tuple of a local hit for eager push (no-op with eager push
   * off: rounds carry it). Unlike counter deltas it need not be durable yet:
   * a bucket is a max-merged count, so a peer holding a count this node then
   * loses in a crash hands it back by anti-entropy.
   */
  local(t: BucketTuple): void {
    if (!this.#o.eagerPush) return
    this.#outbox.push(t)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush()
    })
  }

  /** Sends the queued tuples now (latest count per bucket) to `fanout` push targets. Never throws. */
  flush(): void {
    if (this.#outbox.length === 0) return
    const latest = new Map<string, BucketTuple>()
    for (const t of this.#outbox) latest.set(`${t[0]}\u0000${t[1]}\u0000${t[2]}`, t)
    this.#outbox = []
    const b = [...latest.values()]
    for (const addr of this.#o.membership.pushTargets(this.#o.fanout)) this.#send(addr, { b })
  }

  /** One anti-entropy step: the digest of the live buckets to `targets`, when any is live. */
  round(targets: readonly string[]): void {
    if (this.#o.table.size === 0) return
    const d = this.#o.table.digest()
    const a = this.#o.membership.self.addr
    for (const addr of targets) this.#send(addr, { a, d })
  }

  /** Handles a LIMITS message from a peer (validated by the wire reader). Never throws on its content. */
  receive(msg: LimitsMsg): void {
    const m = this.#o.membership
    const from = msg.a ?? m.addrOf(msg.f)
    if (msg.b === undefined) {
      // A digest: answer with everything when ours differs, and ask back.
      if (from !== undefined && msg.d !== this.#o.table.digest()) this.#sendAll(from, true)
      return
    }
    this.stats.tuplesIn += msg.b.length
    const now = this.#o.now()
    const changed = this.#o.table.merge(msg.b, now, msg.ts === undefined ? undefined : now - msg.ts)
    this.stats.tuplesMerged += changed.length
    if (changed.length > 0) {
      this.#o.store.write(changed).catch((err: unknown) => {
        this.#o.logger.error({ err }, 'persisting rate-limit buckets from a peer failed')
      })
      if (this.#o.eagerPush && msg.s === undefined && changed.length <= FORWARD_MAX) {
        for (const addr of m.pushTargets(this.#o.fanout, msg.f)) this.#send(addr, { b: changed })
      }
    }
    // An anti-entropy answer holds all the sender's live buckets: having merged them, we
    // hold at least as much; if we hold more (digests differ), send ours back.
    if (msg.s === 1 && from !== undefined && msg.d !== this.#o.table.digest()) this.#sendAll(from, false)
  }

  // Every live tuple to `addr`, in frames; the last asks back (with our digest) when `ask` is set.
  #sendAll(addr: string, ask: boolean): void {
    const all = this.#o.table.tuples()
    const a = this.#o.membership.self.addr
    for (let i = 0; i < all.length || i === 0; i += MAX_BUCKET_TUPLES) {
      const b = all.slice(i, i + MAX_BUCKET_TUPLES)
      const last = i + MAX_BUCKET_TUPLES >= all.length
      this.#send(addr, last && ask ? { a, b, s: 1, d: this.#o.table.digest() } : { a, b })
    }
  }

  #send(addr: string, body: Omit<LimitsMsg, 't' | 'f'>): void {
    const msg: LimitsMsg = { t: MsgType.LIMITS, f: this.#o.membership.self.id, ...body }
    if (body.b !== undefined) msg.ts = this.#o.now()
    this.#o.transport.send(addr, msg)
    this.stats.framesOut++
  }
}
