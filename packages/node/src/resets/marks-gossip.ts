// How reset marks and TTLs travel between nodes (MARKS messages, see
// docs/protocol.md): eagerly, each durable local change to every reachable
// member; and by anti-entropy, a digest probe each gossip round to the
// round's targets, answered by the whole set (chunked) when the digests
// differ, which the prober answers with its own whole set. Marks are few
// (deleted or expiring counters) and merging is idempotent, so the whole set
// is the delta.

import type { Delta } from '@tally/crdt'
import type { Membership } from '../membership/membership.js'
import { type MarksMsg, MsgType } from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import type { CounterGc } from './counter-gc.js'
import type { CounterLifecycle } from './counter-lifecycle.js'
import { markChunks as chunks, marksAhead } from './delta-marks.js'
import type { MarkTuple } from './mark-tuple.js'

/** Counters of mark gossip, for /metrics. */
export interface MarksGossipStats {
  probesOut: number
  setsOut: number
  tuplesIn: number
  changedIn: number
  /** Mark tuples sent ahead of a delta (delta-marks.ts). */
  aheadOut: number
}

/** The MARKS side of replication. */
export class MarksGossip {
  readonly stats: MarksGossipStats = {
    probesOut: 0,
    setsOut: 0,
    tuplesIn: 0,
    changedIn: 0,
    aheadOut: 0,
  }
  readonly #life: CounterLifecycle
  readonly #transport: Transport
  readonly #members: Membership

  readonly #gc: CounterGc | undefined

  constructor(o: {
    lifecycle: CounterLifecycle
    transport: Transport
    membership: Membership
    gc?: CounterGc
  }) {
    this.#life = o.lifecycle
    this.#transport = o.transport
    this.#members = o.membership
    this.#gc = o.gc
  }

  /** Sends changed tuples to every reachable member (eager; best effort). */
  send(tuples: MarkTuple[]): void {
    if (tuples.length === 0) return
    const f = this.#members.self.id
    for (const addr of this.#members.reachable()) {
      for (const m of chunks(tuples)) this.#transport.send(addr, { t: MsgType.MARKS, f, m })
    }
  }

  /**
   * The MARKS messages to send ahead of `delta` in the same sequence: the
   * durable marks of the counters it carries (delta-marks.ts). Empty when
   * none of them has a mark: O(1) when this node holds no marks. Never throws.
   */
  ahead(delta: Delta): MarksMsg[] {
    const tuples = marksAhead(delta, this.#life.marks, (name) => !this.#life.markWritten(name))
    if (tuples.length === 0) return []
    this.stats.aheadOut += tuples.length
    const f = this.#members.self.id
    return chunks(tuples).map((m) => ({ t: MsgType.MARKS, f, m }))
  }

  /** One anti-entropy round: a digest probe to each target (only when this node holds marks). */
  round(targets: readonly string[]): void {
    if (this.#life.marks.size === 0) return
    this.#gc?.round()
    if (this.#life.marks.size === 0) return
    const msg: MarksMsg = { t: MsgType.MARKS, f: this.#members.self.id, d: this.#life.marks.digest() }
    for (const addr of targets) {
      this.#transport.send(addr, msg)
      this.stats.probesOut++
    }
  }

  /** Handles a MARKS message (already shape-checked by readMessage). Never throws. */
  onMessage(msg: MarksMsg): void {
    if (msg.g) this.#gc?.onAsk(msg.f, msg.g)
    if (msg.k) this.#gc?.onAcks(msg.f, msg.k)
    if (msg.m && msg.m.length > 0) {
      this.stats.tuplesIn += msg.m.length
      this.stats.changedIn += this.#life.mergeRemote(msg.m).length
    }
    const differs = msg.d !== undefined && msg.d !== this.#life.marks.digest()
    if (!differs && msg.s !== 1) return
    const addr = this.#members.addrOf(msg.f)
    if (addr === undefined) return
    // A differing probe gets our whole set and asks for theirs; an ask-back gets ours alone.
    this.#sendAll(addr, differs)
  }

  #sendAll(addr: string, askBack: boolean): void {
    const f = this.#members.self.id
    // A mark whose counter this node does not hold is not passed on (see CounterLifecycle.isBareMark),
    // nor one with a local change still being written: a crash before it is durable must not leave a
    // peer holding a mark that covers own operations this node then lost (the rule of ahead()).
    const parts = chunks(
      this.#life.marks.tuples().filter((t) => !this.#life.isBareMark(t[0]) && this.#life.markWritten(t[0])),
    )
    if (parts.length === 0) parts.push([])
    parts.forEach((m, i) => {
      const msg: MarksMsg = { t: MsgType.MARKS, f, m }
      if (askBack && i === parts.length - 1) msg.s = 1
      this.#transport.send(addr, msg)
    })
    this.stats.setsOut++
  }
}
