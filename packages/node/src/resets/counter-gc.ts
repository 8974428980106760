// Garbage collection of deleted and expired counters (docs/crdt.md,
// "Garbage collection"; packages/node/README.md, "Delete and expiry"). Each
// gossip round this node lists the counters covered here (gc-rule.ts), asks
// every member it knows to confirm them (MARKS `g`, answered by `k`), and
// drops those every member confirmed at least a grace period ago: entries,
// mark, TTL and applied expiry together, logged so recovery forgets them
// too. A write to a counter this node confirmed, or whose own totals are
// below its floor, first lifts its own totals to a base covered by a mark
// (the floor rule), so stale copies elsewhere cannot swallow it.

import { type CounterMap, raiseFloor } from '@tally/crdt'
import type { Logger } from 'pino'
import type { Membership } from '../membership/membership.js'
import type { WriteFence } from '../storage/write-fence.js'
import { type MarksMsg, MsgType } from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import type { CounterLifecycle } from './counter-lifecycle.js'
import { coveredKey, GcAcks, type GcView, markOnly, NOT_HELD, summaryCovers } from './gc-rule.js'
import { MAX_MARK_TUPLES, type MarkTuple } from './mark-tuple.js'
import type { MarksRecord } from './marks-record.js'

/** Most marks looked at in one round (the rest in the next rounds). */
const SCAN_PER_ROUND = 4_096
/** Most names asked of one member in one round (one MARKS message). */
const ASK_PER_ROUND = 1_000

/** Options of {@link CounterGc}. */
export interface CounterGcOptions {
  map: CounterMap
  lifecycle: CounterLifecycle
  membership: Membership
  transport: Transport
  fence: WriteFence
  logger: Logger
  /** ms since the epoch. */
  now: () => number
  /** How long after every member confirmed a counter it is dropped, ms (bounds messages still in flight). */
  graceMs: number
}

/** Counters of garbage collection, for /metrics. */
export interface CounterGcStats {
  /** Counters dropped since start. */
  collected: number
  /** Own totals lifted to a covered base before a write (floor rule). */
  rebased: number
}

/** The garbage collector of one node's deleted and expired counters. */
export class CounterGc {
  readonly stats: CounterGcStats = { collected: 0, rebased: 0 }
  readonly #o: CounterGcOptions
  readonly #acks = new GcAcks()
  // Counters this node confirmed to a peer: its next write to one lifts its own totals first.
  readonly #confirmed = new Set<string>()
  // Names still to look at in the current pass over the marks.
  #scan: string[] = []

  constructor(o: CounterGcOptions) {
    this.#o = o
  }

  /** Candidates waiting for confirmations or for the grace period. */
  get candidates(): number {
    return this.#acks.size
  }

  /** This node's view of counter `name` for the rule. O(replicas). */
  #view(name: string): GcView {
    const { map, lifecycle } = this.#o
    const [, p, n] = lifecycle.marks.tuple(name)
    const entries = map.state([name]).counters[name] ?? {}
    const seqs: Record<string, number> = {}
    for (const [r, e] of Object.entries(entries)) seqs[r] = e[2]
    return {
      totals: map.counterState(name),
      seqs,
      mark: { p, n },
      ttl: lifecycle.marks.ttl(name),
      applied: lifecycle.marks.applied(name),
    }
  }

  /**
   * One round: refreshes the candidates (counters covered here whose entries
   * the version summary covers), asks members for the confirmations still
   * missing, and drops the counters every member confirmed twice: once, then
   * again after `graceMs` (messages sent before the first confirmations have
   * arrived by then, and a member whose state changed meanwhile no longer
   * confirms). Returns the names dropped. Never throws.
   */
  round(): string[] {
    const { map, lifecycle, membership } = this.#o
    const now = this.#o.now()
    const summary = map.summary()
    // At most SCAN_PER_ROUND marks looked at a round, the next ones the round after: a node with
    // many deleted counters spreads the work (a candidate waits a few more rounds).
    if (this.#scan.length === 0) this.#scan = [...lifecycle.marks.names()]
    for (const name of this.#scan.splice(0, SCAN_PER_ROUND)) {
      if (!lifecycle.marks.has(name)) {
        this.#acks.forget(name)
        continue
      }
      lifecycle.applyDue(name)
      const v = this.#view(name)
      const key = coveredKey(v)
      if (key === null || !summaryCovers(v.seqs, summary)) this.#acks.forget(name)
      else this.#acks.consider(name, key, markOnly(v))
    }
    const members = membership.list()
    const ids = members.map((m) => m.id)
    const due: string[] = []
    for (const name of this.#acks.names()) {
      const since = this.#acks.readySince(name, ids, now)
      if (since === undefined) continue
      // First round of confirmations: wait out the grace period, then ask everyone again.
      if (!this.#acks.askedAgain(name)) {
        if (now - since >= this.#o.graceMs) this.#acks.askAgain(name)
        continue
      }
      // Changed since it was looked at (written, a mark or TTL merged)? Then not now: looked at again.
      const v = lifecycle.marks.has(name) ? this.#view(name) : undefined
      if (v === undefined || coveredKey(v) !== this.#acks.keyOf(name) || !summaryCovers(v.seqs, summary)) {
        this.#acks.forget(name)
        continue
      }
      due.push(name)
      if (due.length >= MAX_MARK_TUPLES) break
    }
    if (due.length > 0) this.#drop(due)
    // Ask each member (dead ones too: they may answer) for what it has not confirmed.
    const self = membership.self.id
    for (const m of members) {
      const names = this.#acks.missing(m.id, ASK_PER_ROUND)
      if (names.length > 0)
        this.#o.transport.send(m.addr, { t: MsgType.MARKS, f: self, g: names } as MarksMsg)
    }
    return due
  }

  /**
   * Answers a peer's request for confirmations (MARKS `g`): for each name,
   * its covered key here ({@link NOT_HELD} when this node holds nothing of
   * it; nothing when it is not covered here). Each confirmed counter is
   * remembered, so this node's next write to it lifts its own totals first.
   */
  onAsk(from: string, names: readonly string[]): void {
    const { map, lifecycle, membership } = this.#o
    const addr = membership.addrOf(from)
    if (addr === undefined) return
    const k: Array<[string, string]> = []
    for (const name of names) {
      if (!lifecycle.marks.has(name) && !map.has(name)) {
        k.push([name, NOT_HELD])
        continue
      }
      const key = coveredKey(this.#view(name))
      if (key === null) continue
      this.#confirmed.add(name)
      k.push([name, key])
    }
    if (k.length > 0) this.#o.transport.send(addr, { t: MsgType.MARKS, f: membership.self.id, k })
  }

  /** Records a peer's confirmations (MARKS `k`). */
  onAcks(from: string, acks: ReadonlyArray<readonly [string, string]>): void {
    for (const [name, key] of acks) this.#acks.ack(from, name, key)
  }

  /** True when a write to `name` may need {@link beforeWrite} (cheap: call it then). */
  mayRebase(name: string): boolean {
    return this.#o.lifecycle.floor > 0 || this.#confirmed.has(name)
  }

  /**
   * Before a local write to `name`: when this node confirmed it to a peer,
   * or its own totals are below the floor, and its own entry is covered,
   * lifts its own increment and decrement totals to the same base (the
   * largest of the floor, its own totals and its own mark) and its own mark
   * with them: the
   * value does not change, the next write counts from the base, and a node
   * that dropped the counter reads the write right without the mark (p and
   * n rose together). The mark change is logged and sent like a delete's.
   * Throws what CounterMap.increment/decrement throw (TALLY_OVERFLOW).
   */
  beforeWrite(name: string): void {
    const { map, lifecycle } = this.#o
    const self = map.replica
    const floor = lifecycle.floor
    const own = map.counterState(name)
    const p = own.p[self] ?? 0
    const n = own.n[self] ?? 0
    const confirmed = this.#confirmed.delete(name)
    if (!confirmed && p >= floor && n >= floor) return
    const [, mp, mn] = lifecycle.marks.tuple(name)
    const ownP = mp[self] ?? 0
    const ownN = mn[self] ?? 0
    if (p > ownP || n > ownN) return // own writes beyond the mark: nothing to lift
    // At or above its own mark too: a mark of this node handed back after it dropped the counter
    // (totals gone, mark back) would otherwise cover the new writes here.
    const base = Math.max(floor, p, n, ownP, ownN)
    if (base === 0) return
    if (base > p) map.increment(name, base - p)
    if (base > n) map.decrement(name, base - n)
    const tuple: MarkTuple = [name, { [self]: base }, { [self]: base }, 0]
    const changed = lifecycle.marks.merge([tuple])
    this.stats.rebased++
    if (changed.length === 0) return
    const t = lifecycle.marks.tuple(name)
    // Logged before the write's own record (same log, in order); sent once durable.
    lifecycle.logAndSend({ tuples: [t], applied: [], keys: [] }, [t])
  }

  // Drops counters: entries, mark, TTL, applied version; raises the floor; logs one record.
  #drop(names: string[]): void {
    const { map, lifecycle } = this.#o
    const self = map.replica
    let floor = lifecycle.floor
    for (const name of names) {
      const totals = map.counterState(name)
      floor = raiseFloor(floor, { p: totals.p, n: totals.n, mark: { p: totals.p, n: totals.n } }, self)
      map.drop(name)
      lifecycle.marks.drop(name)
      this.#acks.forget(name)
      this.#confirmed.delete(name)
    }
    lifecycle.floor = floor
    this.stats.collected += names.length
    const rec: MarksRecord = { tuples: [], applied: [], keys: [], dropped: names, floor }
    lifecycle.logAndSend(rec, [])
    this.#o.logger.debug({ counters: names.length, floor }, 'collected deleted counters')
  }
}
