// The replication shell: handles gossip messages, runs anti-entropy rounds,
// hands durable local changes and changes received to eager push
// (eager-push.ts), persists what peers sent, and collects acks for quorum
// writes. Decisions come from anti-entropy.ts and membership.ts; this file
// only does the I/O around them.

import { type CounterMap, type Delta, isTallyError, readSummary } from '@tally/crdt'
import type { Logger } from 'pino'
import type { KeyRecord } from '../idempotency/key-ledger.js'
import type { Membership } from '../membership/membership.js'
import type { Store } from '../storage/store.js'
import {
  type AckMsg,
  fromKeyTuple,
  type KeyTuple,
  type LimitsMsg,
  type MarksMsg,
  type Message,
  MsgType,
  type PullMsg,
  type PushMsg,
  toKeyTuple,
} from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import { AckCollector } from './ack-collector.js'
import { answerPull, chunkPush, clipToDurable, isEmptyDelta } from './anti-entropy.js'
import { FollowUps, MIN_SLICE_ENTRIES, SliceMemo, sliceReach } from './catch-up.js'
import { CHUNK_ENTRIES, CHUNK_KEYS, EagerPush } from './eager-push.js'
import { SyncTracker } from './sync-tracker.js'

/** Options of {@link Replicator}. Durations in ms. */
export interface ReplicatorOptions {
  map: CounterMap
  store: Store
  transport: Transport
  membership: Membership
  logger: Logger
  fanout: number
  gossipIntervalMs: number
  eagerPush: boolean
  /** Highest own seq that is durable (no own operation at or below it is still being written). */
  durableSeq: () => number
  /** The node's key ledger, if keyed writes are replicated (see {@link KeyHooks}). */
  keys?: KeyHooks
  /**
   * Most entries in one anti-entropy answer (≥ 1000, see catch-up.ts): a
   * bigger difference goes as slices, each built in its own turn when the
   * peer asks for the next.
   */
  sliceEntries: number
  /** Reset marks and TTLs (resets/marks-gossip.ts): probed each round, MARKS messages handed over. */
  marks?: MarksHooks
}

/** How the replicator reaches the reset-mark gossip. */
export interface MarksHooks {
  /** Called each round with the round's targets. */
  round(targets: readonly string[]): void
  /** A MARKS message (shape-checked). */
  onMessage(msg: MarksMsg): void
  /**
   * The MARKS messages to lead a PUSH sequence carrying `delta`: the marks of
   * its counters (resets/delta-marks.ts). Must not throw.
   */
  ahead(delta: Delta): MarksMsg[]
}

/** How the replicator reaches the key ledger: key records travel with the deltas of their operations. */
export interface KeyHooks {
  /**
   * Learns records that came with a PUSH (fresh objects, already validated)
   * and returns those that were new or newly compensated: the replicator
   * persists them with the delta.
   */
  learn(records: KeyRecord[]): KeyRecord[]
  /**
   * The records a holder of version summary `has` lacks: per replica r, seq >
   * has(r), own ones only up to `durableSeq` (the rule of `deltaSince` and
   * `clipToDurable`).
   */
  select(has: (replica: string) => number, durableSeq: number): KeyRecord[]
}

/** How the replicator reaches the rate limits (limits/limits.ts): LIMITS messages and the round's targets. */
export interface LimitHooks {
  /** Called each round with the round's gossip targets. */
  round(targets: readonly string[]): void
  /** A LIMITS message from a peer. */
  receive(msg: LimitsMsg): void
}

/** Replication counters, exposed on /metrics. */
export interface ReplicationStats {
  rounds: number
  pullsIn: number
  inSync: number
  pushesIn: number
  pushesOut: number
  deltasApplied: number
  deltasInvalid: number
  forwards: number
  persistFailures: number
  /** Key records received in PUSH messages, and how many of them were new here. */
  keyRecordsIn: number
  keyRecordsLearnt: number
  /** Anti-entropy answers cut at the slice budget, and follow-up asks sent for the next slice. */
  slicesOut: number
  sliceAsks: number
}

/** Received deltas larger than this are not forwarded (anti-entropy carries them). */
const FORWARD_MAX_ENTRIES = 1_000

const EMPTY: Delta = { ranges: [], entries: [] }

/** Minimum time between two MEMBERS messages to the same peer. */
const MEMBERS_EVERY_MS = 2_000

/** Wires CRDT state, store, transport and membership together. */
export class Replicator {
  readonly #o: ReplicatorOptions
  readonly stats: ReplicationStats = {
    rounds: 0,
    pullsIn: 0,
    inSync: 0,
    pushesIn: 0,
    pushesOut: 0,
    deltasApplied: 0,
    deltasInvalid: 0,
    forwards: 0,
    persistFailures: 0,
    keyRecordsIn: 0,
    keyRecordsLearnt: 0,
    slicesOut: 0,
    sliceAsks: 0,
  }
  /** When each peer was last in sync with us and each replica last merged (explained reads, lag metric). */
  readonly sync = new SyncTracker()
  #timer: NodeJS.Timeout | undefined
  readonly #push: EagerPush
  #lastRemote: Promise<void> = Promise.resolve()
  // Set once persisting a peer delta failed: what this node holds in memory is then not all
  // durable, so a delta found already held is never confirmed to a quorum write.
  #persistFailed = false
  readonly #acks = new AckCollector()
  readonly #membersSent = new Map<string, number>()
  readonly #followUps = new FollowUps()
  readonly #sliceMemo = new SliceMemo()
  // Persist of the last slice that led to a follow-up ask: the next ask waits for it, so at most
  // two slices are being applied or written here at a time (one being written, one on its way).
  #slicePersist: Promise<unknown> = Promise.resolve()
  #running = false
  /** Called after a remote change was applied (e.g. to check whether a snapshot is due). */
  onRemoteChange: () => void = () => {}
  /** The rate limits, once the node has loaded them (their gossip rides on the rounds). */
  limits: LimitHooks | undefined
  /** Called for messages of other replicated types (bounded counters), after the sender was marked heard. */
  onOtherMessage: (msg: Message) => void = () => {}

  /** Throws RangeError if `sliceEntries` is below MIN_SLICE_ENTRIES (receivers would not ask for the rest). */
  constructor(o: ReplicatorOptions) {
    if (!Number.isSafeInteger(o.sliceEntries) || o.sliceEntries < MIN_SLICE_ENTRIES)
      throw new RangeError(`sliceEntries must be an integer >= ${MIN_SLICE_ENTRIES}, got ${o.sliceEntries}`)
    this.#o = o
    this.#push = new EagerPush({
      transport: o.transport,
      membership: o.membership,
      fanout: o.fanout,
      stats: this.stats,
      ...(o.marks ? { ahead: (d: Delta) => (o.marks as MarksHooks).ahead(d) } : {}),
    })
  }

  /** Starts handling messages and running gossip rounds. */
  start(): void {
    this.#running = true
    this.#o.transport.onMessage((msg) => this.#handle(msg))
    this.#schedule()
  }

  #schedule(): void {
    const jitter = 0.9 + Math.random() * 0.2
    this.#timer = setTimeout(() => {
      this.round()
      if (this.#running) this.#schedule()
    }, this.#o.gossipIntervalMs * jitter)
  }

  /**
   * One anti-entropy round: failure detection (the connection to a peer that
   * turned suspect or dead is dropped, not written into), then PULL to
   * `fanout` peers, silent peers and due probes.
   */
  round(): void {
    const m = this.#o.membership
    for (const c of m.tick()) if (c.to !== 'live') this.#o.transport.drop(c.addr)
    this.stats.rounds++
    const pull: PullMsg = { t: MsgType.PULL, ...this.#origin(), d: this.#o.map.digest(), md: m.digest() }
    const targets = m.gossipTargets(this.#o.fanout)
    for (const addr of targets) this.#o.transport.send(addr, pull)
    this.limits?.round(targets)
    this.#o.marks?.round(targets)
  }

  // Who we are, as carried by PULL/ACK. The HTTP URL travels in MEMBERS only
  // (it is part of the member digest), keeping the per-round frames small.
  #origin(): { f: string; a: string } {
    const s = this.#o.membership.self
    return { f: s.id, a: s.addr }
  }

  /**
   * Queues a local operation's delta, already durable, for eager push, with
   * the key record of its operation if the write was keyed (no-op when eager
   * push is off: anti-entropy will carry both).
   */
  localDurable(delta: Delta, record?: KeyRecord): void {
    if (!this.#o.eagerPush || !this.#running) return
    this.#push.local(delta, record)
  }

  /**
   * Sends a durable local delta to every reachable member with an ack request
   * and resolves with how many replicas (self included) confirmed it durable,
   * as soon as `need` did or after `timeoutMs`. The key record of a keyed
   * write goes with it. Never rejects.
   */
  replicate(delta: Delta, need: number, timeoutMs: number, record?: KeyRecord): Promise<number> {
    if (need <= 1) return Promise.resolve(1)
    const { id, result } = this.#acks.open(need - 1, timeoutMs)
    const { f, a } = this.#origin()
    const msg: PushMsg = { t: MsgType.PUSH, f, a, delta, q: id }
    if (record) msg.k = [toKeyTuple(record)]
    // The marks of its counters lead it (resets/delta-marks.ts).
    const seq: Message[] = [...(this.#o.marks?.ahead(delta) ?? []), msg]
    for (const addr of this.#o.membership.reachable()) this.#o.transport.sendAll(addr, seq)
    return result.then((others) => others + 1)
  }

  /**
   * Merges an untrusted delta a peer sent outside PUSH (its state of one
   * counter, pulled before a consistent delete or TTL change) and persists it
   * as a pushed delta. Resolves once it is written (at once, after the
   * writes in flight, when it changed nothing). Throws TallyError
   * TALLY_DELTA_INVALID (nothing merged); rejects with the store's error
   * when persisting fails.
   */
  mergePulled(delta: unknown): Promise<void> {
    const changed = this.#o.map.applyDelta(delta)
    if (!changed) {
      return this.#lastRemote.then(() => {
        if (this.#persistFailed) throw new Error('a peer delta could not be persisted')
      })
    }
    this.stats.deltasApplied++
    this.sync.merged(delta as Delta, Date.now())
    const p = this.#o.store.appendRemote(delta as Delta).then(
      () => this.onRemoteChange(),
      (err: unknown) => {
        this.#persistFailed = true
        this.stats.persistFailures++
        this.#o.logger.error({ err }, 'persisting a pulled delta failed (next snapshot will carry it)')
        throw err
      },
    )
    this.#lastRemote = p.catch(() => {})
    return p
  }

  #handle(msg: Message): void {
    const m = this.#o.membership
    if (msg.f === m.self.id) return
    // The sender is reachable: a reply must not wait out a back-off earned while it was not.
    const from = ('a' in msg ? msg.a : undefined) ?? m.addrOf(msg.f)
    if (from !== undefined) this.#o.transport.heard(from)
    switch (msg.t) {
      case MsgType.PULL: {
        m.observe(msg.f, msg.a, msg.h)
        this.stats.pullsIn++
        const ans = answerPull(this.#o.map, msg.d)
        if (!ans.s) {
          this.stats.inSync++
          this.sync.inSync(msg.f, Date.now())
        }
        const ack: AckMsg = ans.s
          ? { t: MsgType.ACK, ...this.#origin(), md: m.digest(), s: ans.s }
          : { t: MsgType.ACK, ...this.#origin(), md: m.digest() }
        this.#o.transport.send(msg.a, ack)
        this.#maybeMembers(msg.f, msg.a, msg.md)
        return
      }
      case MsgType.ACK: {
        m.observe(msg.f, msg.a, msg.h)
        if (msg.s) this.#pushBack(msg.f, msg.a, msg.s, true)
        else this.sync.inSync(msg.f, Date.now())
        this.#maybeMembers(msg.f, msg.a, msg.md)
        return
      }
      case MsgType.PUSH:
        m.observe(msg.f, msg.a)
        this.#onPush(msg)
        return
      case MsgType.PUSH_ACK:
        m.observe(msg.f)
        this.#acks.ack(msg.q, msg.f)
        return
      case MsgType.MEMBERS: {
        // The sender's own tuple is first-hand news about it; the rest is second-hand.
        const own = msg.m.find(([id]) => id === msg.f)
        if (own) m.observe(msg.f, own[1], own[2])
        else m.observe(msg.f)
        m.learn(msg.m.map(([id, addr, http]) => ({ id, addr, http: http === '' ? undefined : http })))
        return
      }
      case MsgType.LEAVE:
        m.leave(msg.f)
        return
      case MsgType.LIMITS:
        m.observe(msg.f, msg.a)
        this.limits?.receive(msg)
        return
      case MsgType.MARKS:
        m.observe(msg.f)
        this.#o.marks?.onMessage(msg)
        return
      default:
        this.onOtherMessage(msg)
    }
  }

  // Sends peer `peer` (at `addr`) what a holder of `summary` lacks; with `askBack`, also our summary.
  #pushBack(peer: string, addr: string, summary: Record<string, number>, askBack: boolean): void {
    const map = this.#o.map
    const now = Date.now()
    let has: Map<string, number>
    try {
      has = readSummary(summary)
    } catch (err) {
      this.#invalid(err, addr)
      return
    }
    if (this.#sliceMemo.sent(peer, has, now)) {
      // That slice is on its way (an ask sent before the peer applied it): only the ask-back.
      if (askBack)
        this.#o.transport.send(addr, { t: MsgType.PUSH, f: this.#origin().f, delta: EMPTY, s: map.summary() })
      return
    }
    let delta: Delta
    let keys: KeyTuple[] = []
    try {
      const durable = this.#o.durableSeq()
      // At most one slice, built in this turn; the peer asks for the next (catch-up.ts).
      const full = map.deltaSince(summary, this.#o.sliceEntries)
      const cut = full.entries.length >= this.#o.sliceEntries
      if (cut) {
        this.stats.slicesOut++
        this.#sliceMemo.note(peer, has, now)
      }
      delta = clipToDurable(full, map.replica, durable)
      if (this.#o.keys) {
        let records = this.#o.keys.select((r) => has.get(r) ?? 0, durable)
        if (cut) {
          // A record rides with its operation: only those of the operations this slice reaches.
          const reach = sliceReach(full)
          records = records.filter((k) => k.seq <= (reach.get(k.replica) ?? 0))
        }
        keys = records.map(toKeyTuple)
      }
    } catch (err) {
      this.#invalid(err, addr)
      return
    }
    if (!askBack && isEmptyDelta(delta) && keys.length === 0) return
    const f = this.#origin().f
    // Key records ride with the entries (never after the ranges): one all-or-nothing sequence.
    const parts = chunkPush(delta, keys, CHUNK_ENTRIES, CHUNK_KEYS)
    const msgs: PushMsg[] = parts.map((p) =>
      p.k ? { t: MsgType.PUSH, f, delta: p.delta, k: p.k } : { t: MsgType.PUSH, f, delta: p.delta },
    )
    // The ask-back summary rides on the last part, after every entry.
    if (askBack) (msgs[msgs.length - 1] as PushMsg).s = map.summary()
    // The marks of the slice's counters lead it (resets/delta-marks.ts): merged before its totals.
    const ahead = this.#o.marks?.ahead(delta) ?? []
    this.#o.transport.sendAll(addr, ahead.length > 0 ? [...ahead, ...msgs] : msgs)
    this.stats.pushesOut += msgs.length
  }

  #onPush(msg: PushMsg): void {
    this.stats.pushesIn++
    const map = this.#o.map
    let changed: boolean
    try {
      changed = map.applyDelta(msg.delta)
    } catch (err) {
      this.#invalid(err, msg.f)
      return
    }
    // A cut slice: ask for the next one now if the slice before is durable, else once it is (catch-up.ts).
    const now = Date.now()
    if (msg.s === undefined) this.#followUps.answered(msg.f)
    let askNext = this.#followUps.shouldAsk(msg.f, msg.delta as Delta, changed, map.digest(), now)
    if (askNext) this.#followUps.asked(msg.f, map.digest(), now)
    // Key records are learnt with the delta that carries their operations
    // (in the same handler, so a snapshot never holds one without the other).
    let learnt: KeyRecord[] = []
    if (msg.k && msg.k.length > 0 && this.#o.keys) {
      this.stats.keyRecordsIn += msg.k.length
      learnt = this.#o.keys.learn(msg.k.map(fromKeyTuple))
      this.stats.keyRecordsLearnt += learnt.length
    }
    if (changed || learnt.length > 0) {
      if (changed) {
        this.stats.deltasApplied++
        this.sync.merged(msg.delta as Delta, Date.now())
      }
      const delta = changed ? (msg.delta as Delta) : EMPTY
      const p = this.#o.store.appendRemote(delta, learnt.length > 0 ? learnt : undefined).then(
        () => this.onRemoteChange(),
        (err: unknown) => {
          this.#persistFailed = true
          this.stats.persistFailures++
          this.#o.logger.error({ err }, 'persisting a remote delta failed (next snapshot will carry it)')
          throw err
        },
      )
      this.#lastRemote = p.catch(() => {})
      if (askNext) {
        const before = this.#slicePersist
        this.#slicePersist = p.catch(() => {})
        void before.then(() => this.#askNext(msg.f))
        askNext = false
      }
      // Big deltas are anti-entropy repairs (catch-up): peers get them by anti-entropy too.
      if (
        changed &&
        this.#o.eagerPush &&
        msg.q === undefined &&
        delta.entries.length <= FORWARD_MAX_ENTRIES
      ) {
        this.#push.forward(msg.delta, msg.k, msg.f)
      }
      if (msg.q !== undefined) this.#ackWhen(p, msg)
    } else if (msg.q !== undefined) {
      // Already held: durable once the writes in flight are, unless a persist has failed.
      const durable = this.#lastRemote.then(() => {
        if (this.#persistFailed) throw new Error('a peer delta could not be persisted')
      })
      this.#ackWhen(durable, msg)
    }
    if (msg.s) {
      const addr = this.#o.membership.addrOf(msg.f)
      if (addr) this.#pushBack(msg.f, addr, msg.s, false)
    }
    // Nothing to persist (another answer brought this slice first): ask at once.
    if (askNext) this.#askNext(msg.f)
  }

  // Asks peer `id` for the next slice: an empty PUSH with our summary.
  #askNext(id: string): void {
    const addr = this.#o.membership.addrOf(id)
    if (!addr || !this.#running || this.#persistFailed) return
    this.stats.sliceAsks++
    this.#o.transport.send(addr, {
      t: MsgType.PUSH,
      f: this.#origin().f,
      delta: EMPTY,
      s: this.#o.map.summary(),
    })
  }

  #ackWhen(p: Promise<void>, msg: PushMsg): void {
    const q = msg.q as number
    p.then(
      () => {
        const addr = msg.a ?? this.#o.membership.addrOf(msg.f)
        if (addr) this.#o.transport.send(addr, { t: MsgType.PUSH_ACK, f: this.#origin().f, q })
      },
      () => {},
    )
  }

  #invalid(err: unknown, peer: string): void {
    if (!isTallyError(err)) throw err
    this.stats.deltasInvalid++
    this.#o.logger.warn({ peer, code: err.code, reason: err.message }, 'refused an invalid delta from a peer')
  }

  #maybeMembers(id: string, addr: string, theirDigest: string): void {
    const m = this.#o.membership
    if (theirDigest === m.digest()) return
    const now = Date.now()
    if (now - (this.#membersSent.get(id) ?? 0) < MEMBERS_EVERY_MS) return
    this.#membersSent.set(id, now)
    this.#o.transport.send(addr, { t: MsgType.MEMBERS, f: m.self.id, m: m.tuples() })
  }

  /** Waits for remote deltas being persisted. Never rejects. */
  settled(): Promise<void> {
    return this.#lastRemote
  }

  /** Stops rounds, tells reachable peers we leave, and flushes the transport (at most `timeoutMs`). */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.#running) return
    this.#running = false
    clearTimeout(this.#timer)
    this.#push.flush()
    this.#acks.finishAll()
    const leave: Message = { t: MsgType.LEAVE, f: this.#o.membership.self.id }
    for (const addr of this.#o.membership.reachable()) this.#o.transport.send(addr, leave)
    await this.#o.transport.flush(timeoutMs)
  }
}
