// The gossip side of bounded counters: eager push of durable changes, a
// digest-driven repair round (B_DIGEST → B_SUMMARY → B_PUSH with names to
// send back), with the key records of keyed writes riding along with their
// counters' states, and rights on demand: a decrement short of rights asks peers
// (B_WANT), which grant what they can spare (B_GRANT), within a bounded wait.
// Messages ride the node's gossip transport; see docs/protocol.md.

import { type BoundedCounterState, isTallyError } from '@tally/crdt'
import type { Logger } from 'pino'
import type { KeyRecord } from '../idempotency/key-ledger.js'
import type { Membership, PeerInfo } from '../membership/membership.js'
import {
  type BGrantMsg,
  type BoundedEntry,
  type BoundedMessage,
  BoundedMsgType,
  type BPushMsg,
  type BSummaryMsg,
  type BWantMsg,
  MAX_BOUNDED_ENTRIES,
} from '../wire/bounded-messages.js'
import { fromKeyTuple, MAX_KEY_RECORDS, toKeyTuple } from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import type { BoundedCounters } from './bounded-counters.js'
import { nodeIdOf } from './replica-ids.js'

/** Options of {@link BoundedReplication}. Durations in ms. */
export interface BoundedReplicationOptions {
  counters: BoundedCounters
  transport: Transport
  membership: Membership
  logger: Logger
  fanout: number
  gossipIntervalMs: number
  eagerPush: boolean
  /** How long a decrement short of rights waits for grants (`--bounded-transfer-timeout`). */
  transferTimeoutMs: number
}

/** Gossip counters of bounded counters, exposed on /metrics. */
export interface BoundedReplicationStats {
  rounds: number
  pushesIn: number
  pushesOut: number
  statesMerged: number
  statesInvalid: number
  /** Transfer requests sent / received, grants received with rights, rights received, requests unanswered in time. */
  wantsOut: number
  wantsIn: number
  grantsIn: number
  rightsIn: number
  wantTimeouts: number
  /** Transfer requests received after their requester stopped waiting (answered with no rights). */
  wantsExpired: number
}

interface Fetch {
  /** Rights wanted by the decrements waiting on this counter now. */
  demand: number
  running: Promise<void> | undefined
}

/** Bounded-counter replication and rights transfers over the gossip transport. */
export class BoundedReplication {
  readonly stats: BoundedReplicationStats = {
    rounds: 0,
    pushesIn: 0,
    pushesOut: 0,
    statesMerged: 0,
    statesInvalid: 0,
    wantsOut: 0,
    wantsIn: 0,
    grantsIn: 0,
    rightsIn: 0,
    wantTimeouts: 0,
    wantsExpired: 0,
  }
  readonly #o: BoundedReplicationOptions
  readonly #fetches = new Map<string, Fetch>()
  readonly #waiting = new Map<number, () => void>()
  #nextQ = 1
  #timer: NodeJS.Timeout | undefined
  #running = false

  constructor(o: BoundedReplicationOptions) {
    this.#o = o
    o.counters.hooks = {
      publish: (name, state, record) => this.#publish([[name, state]], record),
      acquire: (name, amount) => this.acquire(name, amount),
    }
  }

  /** Starts the repair rounds. */
  start(): void {
    this.#running = true
    this.#schedule()
  }

  /** Stops the rounds and lets every waiting decrement go on (it will find no new rights). */
  stop(): void {
    this.#running = false
    clearTimeout(this.#timer)
    for (const done of this.#waiting.values()) done()
    this.#waiting.clear()
  }

  #schedule(): void {
    const jitter = 0.9 + Math.random() * 0.2
    this.#timer = setTimeout(() => {
      this.round()
      if (this.#running) this.#schedule()
    }, this.#o.gossipIntervalMs * jitter)
  }

  /** One repair round: our digest to one random live peer (nothing when we hold no bounded counter). */
  round(): void {
    const map = this.#o.counters.map
    if (map.size === 0) return
    this.stats.rounds++
    const m = this.#o.membership
    for (const addr of m.pushTargets(1))
      this.#o.transport.send(addr, {
        t: BoundedMsgType.B_DIGEST,
        f: m.self.id,
        a: m.self.addr,
        d: map.digest(),
      })
  }

  // Eager push of durable states (and the key record of the write) to `fanout` random peers.
  #publish(entries: BoundedEntry[], record: KeyRecord | undefined): void {
    if (!this.#running || !this.#o.eagerPush) return
    const msg: BPushMsg = { t: BoundedMsgType.B_PUSH, f: this.#o.membership.self.id, b: entries }
    if (record) msg.k = [toKeyTuple(record)]
    for (const addr of this.#o.membership.pushTargets(this.#o.fanout)) {
      this.#o.transport.send(addr, msg)
      this.stats.pushesOut++
    }
  }

  /** Handles one bounded-counter message (the replicator hands them over). Never throws on peer input. */
  handle(msg: BoundedMessage): void {
    switch (msg.t) {
      case BoundedMsgType.B_DIGEST:
        this.#o.membership.observe(msg.f, msg.a)
        if (msg.d !== this.#o.counters.map.digest()) this.#sendSummary(msg.a)
        return
      case BoundedMsgType.B_SUMMARY:
        this.#o.membership.observe(msg.f, msg.a)
        this.#onSummary(msg)
        return
      case BoundedMsgType.B_PUSH:
        this.#onPush(msg)
        return
      case BoundedMsgType.B_WANT:
        this.#o.membership.observe(msg.f, msg.a)
        this.#onWant(msg)
        return
      case BoundedMsgType.B_GRANT:
        this.#onGrant(msg)
        return
    }
  }

  #sendSummary(addr: string): void {
    const m = this.#o.membership
    const all = this.#o.counters.map.summary()
    const msgs: BSummaryMsg[] = []
    for (let i = 0; i < all.length || i === 0; i += MAX_BOUNDED_ENTRIES)
      msgs.push({
        t: BoundedMsgType.B_SUMMARY,
        f: m.self.id,
        a: m.self.addr,
        s: all.slice(i, i + MAX_BOUNDED_ENTRIES),
      })
    this.#o.transport.sendAll(addr, msgs)
  }

  // The peer's digests differ from ours: send what differs, and ask for theirs back.
  #onSummary(msg: BSummaryMsg): void {
    const theirs = new Map(msg.s)
    const mine = this.#o.counters.map.summary()
    const send: string[] = []
    const want: string[] = []
    for (const [name, d] of mine) {
      const t = theirs.get(name)
      if (t === d) continue
      send.push(name)
      if (t !== undefined) want.push(name)
    }
    const held = new Set(mine.map(([n]) => n))
    for (const name of theirs.keys()) if (!held.has(name)) want.push(name)
    this.#sendStates(msg.a, send, want)
  }

  #sendStates(addr: string, names: readonly string[], want: readonly string[]): void {
    const entries: BoundedEntry[] = []
    for (const n of names) {
      const s = this.#o.counters.shareable(n)
      if (s) entries.push([n, s])
    }
    // The key records of the counters sent: a node that missed a push learns them here.
    const keys = this.#o.counters.keys.recordsOf(entries.map(([n]) => n)).map(toKeyTuple)
    const f = this.#o.membership.self.id
    const msgs: BPushMsg[] = []
    const parts = Math.max(
      Math.ceil(entries.length / MAX_BOUNDED_ENTRIES),
      Math.ceil(want.length / MAX_BOUNDED_ENTRIES),
      Math.ceil(keys.length / MAX_KEY_RECORDS),
    )
    for (let i = 0; i < parts; i++) {
      const lo = i * MAX_BOUNDED_ENTRIES
      const w = want.slice(lo, lo + MAX_BOUNDED_ENTRIES)
      const k = keys.slice(i * MAX_KEY_RECORDS, (i + 1) * MAX_KEY_RECORDS)
      const msg: BPushMsg = { t: BoundedMsgType.B_PUSH, f, b: entries.slice(lo, lo + MAX_BOUNDED_ENTRIES) }
      if (w.length > 0) msg.w = w
      if (k.length > 0) msg.k = k
      msgs.push(msg)
    }
    if (msgs.length === 0) return
    this.#o.transport.sendAll(addr, msgs)
    this.stats.pushesOut += msgs.length
  }

  #onPush(msg: BPushMsg): void {
    this.stats.pushesIn++
    for (const [name, state] of msg.b) this.#merge(name, state, msg.f)
    // After the states: a record is logged with its counter's state as merged.
    if (msg.k && msg.k.length > 0) this.#o.counters.learnKeys(msg.k.map(fromKeyTuple))
    if (msg.w && msg.w.length > 0) {
      const addr = this.#o.membership.addrOf(msg.f)
      if (addr) this.#sendStates(addr, msg.w, [])
    }
  }

  #merge(name: string, state: unknown, from: string): boolean {
    try {
      const changed = this.#o.counters.mergeRemote(name, state)
      if (changed) this.stats.statesMerged++
      return changed
    } catch (err) {
      if (!isTallyError(err)) throw err
      this.stats.statesInvalid++
      this.#o.logger.warn(
        { peer: from, counter: name, code: err.code, reason: err.message },
        'refused an invalid bounded-counter state from a peer',
      )
      return false
    }
  }

  #onWant(msg: BWantMsg): void {
    this.stats.wantsIn++
    const f = this.#o.membership.self.id
    const answer = (granted: number, state: BoundedCounterState): void => {
      const grant: BGrantMsg = { t: BoundedMsgType.B_GRANT, f, q: msg.q, n: msg.n, g: granted, b: state }
      // The counter's key records: the requester checks them before applying its keyed decrement.
      const keys = this.#o.counters.keys.recordsOf([msg.n]).slice(-MAX_KEY_RECORDS)
      if (keys.length > 0) grant.k = keys.map(toKeyTuple)
      this.#o.transport.send(msg.a, grant)
    }
    // Read too late (this node was paused, or the link held the request): the requester has given
    // up, so rights given now would sit idle there while this node's own decrements need them.
    if (Date.now() > msg.x) {
      this.stats.wantsExpired++
      const state = this.#o.counters.shareable(msg.n)
      if (state) answer(0, state)
      return
    }
    void this.#o.counters.grant(msg.n, msg.r, msg.m).then((res) => {
      if (res !== null) answer(res.granted, res.state)
    })
  }

  #onGrant(msg: BGrantMsg): void {
    this.#merge(msg.n, msg.b, msg.f)
    if (msg.k && msg.k.length > 0) this.#o.counters.learnKeys(msg.k.map(fromKeyTuple))
    if (msg.g > 0) {
      this.stats.grantsIn++
      this.stats.rightsIn += msg.g
    }
    const done = this.#waiting.get(msg.q)
    if (done) {
      this.#waiting.delete(msg.q)
      done()
    }
  }

  /**
   * Tries to bring this node's rights of `name` up to what the decrements
   * waiting on it need (`amount` for this one): concurrent callers share one
   * request round at a time. Resolves when rights suffice, when every asked
   * peer answered, or after the transfer timeout (at most two rounds per
   * call). Never rejects; the caller re-checks its rights.
   */
  async acquire(name: string, amount: number): Promise<void> {
    let f = this.#fetches.get(name)
    if (!f) {
      f = { demand: 0, running: undefined }
      this.#fetches.set(name, f)
    }
    const entry = f
    entry.demand += amount
    try {
      for (let round = 0; round < 2 && this.#rights(name) < amount && this.#running; round++) {
        entry.running ??= this.#fetch(name, entry).finally(() => {
          entry.running = undefined
        })
        await entry.running
      }
    } finally {
      entry.demand -= amount
      if (entry.demand === 0 && entry.running === undefined) this.#fetches.delete(name)
    }
  }

  #rights(name: string): number {
    return this.#o.counters.map.get(name)?.localRights ?? 0
  }

  // One request round: ask peers (richest first, as far as this node knows) for the shortfall.
  async #fetch(name: string, entry: Fetch): Promise<void> {
    const want = Math.max(1, entry.demand - this.#rights(name))
    const peers = this.#o.membership.list().filter((p) => p.state !== 'dead')
    if (peers.length === 0) return
    const asks = planAsks(peers, this.#viewOfRights(name), want)
    const m = this.#o.membership
    const answers = asks.map(([addr, amount]) => {
      const q = this.#nextQ++
      const answered = new Promise<void>((resolve) => this.#waiting.set(q, resolve))
      const msg: BWantMsg = {
        t: BoundedMsgType.B_WANT,
        f: m.self.id,
        a: m.self.addr,
        q,
        n: name,
        m: amount,
        r: this.#o.counters.map.replica,
        x: Date.now() + this.#o.transferTimeoutMs,
      }
      this.#o.transport.send(addr, msg)
      this.stats.wantsOut++
      return { q, answered }
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#o.transferTimeoutMs)
    })
    // Done when every peer answered, when the rights now suffice, or at the timeout.
    const enough = Promise.all(
      answers.map((a) =>
        a.answered.then(() => {
          if (this.#rights(name) >= entry.demand) throw new Error('enough') // short-circuits the race
        }),
      ),
    ).catch(() => {})
    await Promise.race([enough, timeout])
    clearTimeout(timer)
    for (const a of answers) {
      if (this.#waiting.delete(a.q)) this.stats.wantTimeouts++
    }
  }

  // Rights per node id, as this node's view of the counter shows them.
  #viewOfRights(name: string): Map<string, number> {
    const out = new Map<string, number>()
    const c = this.#o.counters.map.get(name)
    if (!c) return out
    for (const r of c.replicas()) {
      if (r === c.replica) continue
      const id = nodeIdOf(r)
      out.set(id, (out.get(id) ?? 0) + c.rights(r))
    }
    return out
  }
}

/**
 * Whom to ask for how many of `want` rights: peers this view says hold
 * rights, richest first, each for what it is thought to hold, until `want`
 * is covered; every other peer for whatever is left (views are stale: a
 * peer may hold rights this node has not heard of). Returns [addr, amount]
 * pairs. Pure.
 */
export function planAsks(
  peers: readonly Pick<PeerInfo, 'id' | 'addr'>[],
  rights: ReadonlyMap<string, number>,
  want: number,
): Array<[string, number]> {
  const sorted = [...peers].sort(
    (a, b) => (rights.get(b.id) ?? 0) - (rights.get(a.id) ?? 0) || (a.id < b.id ? -1 : 1),
  )
  const out: Array<[string, number]> = []
  let left = want
  const rest: string[] = []
  for (const p of sorted) {
    const held = rights.get(p.id) ?? 0
    if (left > 0 && held > 0) {
      const ask = Math.min(left, held)
      out.push([p.addr, ask])
      left -= ask
    } else rest.push(p.addr)
  }
  if (left > 0) for (const addr of rest) out.push([addr, left])
  return out
}
