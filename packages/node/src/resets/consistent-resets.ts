// Deletes and TTL changes at `?consistency=quorum|all`: before its reset the
// serving node pulls the counter's state (entries, mark, the answer under the
// request's key) from peers until the required number of replicas, itself
// included, answered, and merges it, so the reset mark covers every write
// acknowledged at that level; after it, the mark and the keyed answer go to
// every reachable peer with an ack request and the answer waits for the
// required number of holders, as a quorum write does. At `one` the reset is
// this node's alone (as before); a keyed answer is still sent to peers, so a
// retry elsewhere finds it. Messages: wire/reset-messages.ts; docs/protocol.md,
// "Consistent deletes and TTL changes".

import type { CounterMap, EntryTuple } from '@tally/crdt'
import { type Consistency, requiredReplicas } from '@tally/kit'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { Membership } from '../membership/membership.js'
import { AckCollector } from '../replication/ack-collector.js'
import { MsgType } from '../wire/messages.js'
import type { RAckMsg, ResetMessage, RMarksMsg, RPullMsg, RStateMsg } from '../wire/reset-messages.js'
import type { Transport } from '../wire/transport.js'
import type { CounterLifecycle } from './counter-lifecycle.js'
import type { MarkTuple } from './mark-tuple.js'
import type { ResetKeyRecord } from './marks-record.js'
import { replicasShort } from './replicas-short.js'

/** Options of {@link ConsistentResets}. Durations in ms. */
export interface ConsistentResetsOptions {
  map: CounterMap
  lifecycle: CounterLifecycle
  transport: Transport
  membership: Membership
  logger: Logger
  /** Merges and persists a delta pulled from a peer (Replicator.mergePulled); throws on a bad one. */
  mergePulled: (delta: unknown) => Promise<void>
  /** Highest own seq that is durable. */
  durableSeq: () => number
  /** Resolves once the own writes in flight now are durable (or failed). Never rejects. */
  ownSettled: () => Promise<void>
  /** Cluster size for quorum (members incl. self, never below --cluster-size). */
  clusterSize: () => number
  quorumTimeoutMs: number
}

/** Counters of consistent deletes/TTL changes, for /stats. */
export interface ConsistentResetsStats {
  pullsOut: number
  pullsIn: number
  statesMerged: number
  statesInvalid: number
  marksIn: number
  answersLearnt: number
}

// A pull in flight: answers of request `q` are merged only while it is.
interface Pull {
  name: string
  writes: Array<Promise<void>>
}

/** Most tries to answer a pull with this replica's own entry durable before leaving it out. */
const OWN_DURABLE_TRIES = 4

/** Consistency levels for deletes and TTL changes: pull before, replicate after. */
export class ConsistentResets {
  readonly stats: ConsistentResetsStats = {
    pullsOut: 0,
    pullsIn: 0,
    statesMerged: 0,
    statesInvalid: 0,
    marksIn: 0,
    answersLearnt: 0,
  }
  readonly #o: ConsistentResetsOptions
  readonly #pullAcks = new AckCollector()
  readonly #markAcks = new AckCollector()
  readonly #pulls = new Map<number, Pull>()

  constructor(o: ConsistentResetsOptions) {
    this.#o = o
  }

  /**
   * Runs one delete/TTL change of counter `name` at `level`: `reset` is the
   * local change (CounterLifecycle.delete/expire/persist with `key`). At
   * quorum/all, first pulls the counter from peers until the required
   * replicas (self included) answered and merges what they hold, then runs
   * `reset`, then waits until that many hold its mark. A key already
   * answered here (or by a replica that answered the pull) is answered from
   * its record by `reset`, which then changes nothing. Rejects with what
   * `reset` rejects with, or NodeError TALLY_QUORUM_UNAVAILABLE at once,
   * nothing sent nor changed, when fewer replicas than required can be
   * reached (members held dead: replicas-short.ts), or NodeError
   * TALLY_QUORUM_TIMEOUT (details `confirmed`, `required`): before the reset
   * when too few answered the pull (nothing reset), after it when too few
   * confirmed the mark in time (it is durable here and will replicate).
   */
  async run<T>(
    name: string,
    level: Consistency,
    key: string | undefined,
    reset: () => Promise<T>,
  ): Promise<T> {
    const need = requiredReplicas(level, this.#o.clusterSize())
    const life = this.#o.lifecycle
    if (need <= 1 || (key !== undefined && life.answerFor(key) !== undefined)) {
      const answer = await reset()
      if (key !== undefined) this.#sendMarks(name, key, undefined)
      return answer
    }
    const short = replicasShort(level, this.#view(need))
    if (short) throw short
    await this.#pull(name, key, need)
    const answer = await reset()
    const confirmed = await this.#replicate(name, key, need)
    if (confirmed < need) {
      throw new NodeError(
        NodeErrorCodes.QUORUM_TIMEOUT,
        `only ${confirmed} of ${need} replicas confirmed the change in time; it is durable here and will replicate`,
        { details: { confirmed, required: need } },
      )
    }
    return answer
  }

  /** Handles a message of the reset family (shape-checked by readMessage). Never throws. */
  handle(msg: ResetMessage): void {
    switch (msg.t) {
      case MsgType.R_PULL:
        void this.#answerPull(msg)
        return
      case MsgType.R_STATE:
        this.#onState(msg)
        return
      case MsgType.R_MARKS:
        this.#onMarks(msg)
        return
      case MsgType.R_ACK:
        this.#markAcks.ack(msg.q, msg.f)
        return
    }
  }

  /** Resolves every pending wait now with what it has (shutdown). */
  stop(): void {
    this.#pullAcks.finishAll()
    this.#markAcks.finishAll()
  }

  // Who can be pulled: members not held dead, and self.
  #view(required: number): { required: number; reachable: number; down: string[]; unknown: number } {
    const m = this.#o.membership
    const down = m
      .list()
      .filter((p) => p.state === 'dead')
      .map((p) => p.id)
    return {
      required,
      reachable: m.reachable().length + 1,
      down,
      unknown: Math.max(0, this.#o.clusterSize() - m.size()),
    }
  }

  // Pulls `name` from every reachable peer until need − 1 answered; merges their answers durably.
  async #pull(name: string, key: string | undefined, need: number): Promise<void> {
    const { id, result } = this.#pullAcks.open(need - 1, this.#o.quorumTimeoutMs)
    const pull: Pull = { name, writes: [] }
    this.#pulls.set(id, pull)
    const msg: RPullMsg = { t: MsgType.R_PULL, f: this.#o.membership.self.id, q: id, n: name }
    if (key !== undefined) msg.k = key
    for (const addr of this.#o.membership.reachable()) {
      this.#o.transport.send(addr, msg)
      this.stats.pullsOut++
    }
    let answered: number
    try {
      answered = (await result) + 1
    } finally {
      this.#pulls.delete(id)
    }
    if (answered < need) {
      void Promise.allSettled(pull.writes) // merged all the same; their failures are logged
      throw new NodeError(
        NodeErrorCodes.QUORUM_TIMEOUT,
        `only ${answered} of ${need} replicas answered in time; nothing was changed`,
        { details: { confirmed: answered, required: need } },
      )
    }
    try {
      await Promise.all(pull.writes)
    } catch {
      throw new NodeError(NodeErrorCodes.STORE_FAILED, 'the state pulled from peers could not be written')
    }
  }

  // Sends the mark of `name` (and the answer under `key`) to every reachable peer; resolves with holders (self included).
  async #replicate(name: string, key: string | undefined, need: number): Promise<number> {
    const life = this.#o.lifecycle
    if (!life.marks.has(name) && (key === undefined || life.answerFor(key) === undefined)) return need
    const { id, result } = this.#markAcks.open(need - 1, this.#o.quorumTimeoutMs)
    this.#sendMarks(name, key, id)
    return (await result) + 1
  }

  #sendMarks(name: string, key: string | undefined, q: number | undefined): void {
    const life = this.#o.lifecycle
    const msg: RMarksMsg = { t: MsgType.R_MARKS, f: this.#o.membership.self.id, m: [] }
    if (life.marks.has(name)) msg.m.push(life.marks.tuple(name))
    const kept = key === undefined ? undefined : life.answerFor(key)
    if (kept) msg.r = [kept]
    if (msg.m.length === 0 && !kept) return
    if (q !== undefined) msg.q = q
    for (const addr of this.#o.membership.reachable()) this.#o.transport.send(addr, msg)
  }

  async #answerPull(msg: RPullMsg): Promise<void> {
    this.stats.pullsIn++
    const addr = this.#o.membership.addrOf(msg.f)
    if (addr === undefined) return
    // Our own entry goes only once durable: a peer must not reset what a crash here could undo.
    let entries = this.#entries(msg.n)
    for (let i = 0; i < OWN_DURABLE_TRIES && entries.ownPending; i++) {
      await this.#o.ownSettled()
      entries = this.#entries(msg.n)
    }
    const life = this.#o.lifecycle
    const answer: RStateMsg = {
      t: MsgType.R_STATE,
      f: this.#o.membership.self.id,
      q: msg.q,
      delta: { ranges: [], entries: entries.list },
    }
    if (life.marks.has(msg.n)) answer.m = [life.marks.tuple(msg.n)]
    const kept = msg.k === undefined ? undefined : life.answerFor(msg.k)
    if (kept) answer.r = [kept]
    this.#o.transport.send(addr, answer)
  }

  // Counter `name`'s entries as delta entries; our own only when durable.
  #entries(name: string): { list: EntryTuple[]; ownPending: boolean } {
    const map = this.#o.map
    const state = map.state([name]).counters[name] ?? {}
    const durable = this.#o.durableSeq()
    const list: EntryTuple[] = []
    let ownPending = false
    for (const [replica, [p, n, seq]] of Object.entries(state)) {
      if (replica === map.replica && seq > durable) {
        ownPending = true
        continue
      }
      list.push([name, replica, p, n, seq])
    }
    return { list, ownPending }
  }

  #onState(msg: RStateMsg): void {
    const pull = this.#pulls.get(msg.q)
    if (!pull) return // late or unasked: anti-entropy carries the same state
    let written: Promise<void>
    try {
      if (!deltaOnlyOf(msg.delta, pull.name)) throw new Error('entries of another counter')
      written = this.#o.mergePulled(msg.delta)
    } catch (err) {
      this.stats.statesInvalid++
      this.#o.logger.warn({ peer: msg.f, reason: String(err) }, 'refused a pulled counter state')
      return
    }
    const marks: MarkTuple[] = (msg.m ?? []).filter(([n]) => n === pull.name)
    const keys: ResetKeyRecord[] = msg.r ?? []
    this.stats.answersLearnt += keys.length
    pull.writes.push(written, this.#o.lifecycle.learn(marks, keys))
    this.stats.statesMerged++
    this.#pullAcks.ack(msg.q, msg.f)
  }

  #onMarks(msg: RMarksMsg): void {
    this.stats.marksIn++
    this.#o.lifecycle.learn(msg.m, msg.r ?? []).then(
      () => {
        if (msg.q === undefined) return
        const addr = this.#o.membership.addrOf(msg.f)
        const ack: RAckMsg = { t: MsgType.R_ACK, f: this.#o.membership.self.id, q: msg.q }
        if (addr !== undefined) this.#o.transport.send(addr, ack)
      },
      () => {}, // not written: no ack (the lifecycle logged it)
    )
  }
}

// True when `delta` (untrusted) holds no ranges and entries of counter `name` only; CounterMap checks the rest.
function deltaOnlyOf(delta: unknown, name: string): boolean {
  const d = delta as { ranges?: unknown; entries?: unknown }
  if (
    !Array.isArray(d.entries) ||
    (d.ranges !== undefined && !(Array.isArray(d.ranges) && d.ranges.length === 0))
  )
    return false
  return d.entries.every((e) => Array.isArray(e) && e[0] === name)
}
