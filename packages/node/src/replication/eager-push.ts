// Eager push: durable local changes and changes received from peers go out
// at once, batched. Everything queued in one turn of the event loop leaves
// in one go (setImmediate): local deltas merged into one PUSH sequence per
// target, each received change forwarded once, verbatim, to peers other
// than its sender. Key records ride with the delta that carries their
// operations, and the reset marks of its counters lead it (resets/delta-marks.ts).

import type { Delta } from '@tally/crdt'
import type { KeyRecord } from '../idempotency/key-ledger.js'
import type { Membership } from '../membership/membership.js'
import { type KeyTuple, type Message, MsgType, type PushMsg, toKeyTuple } from '../wire/messages.js'
import type { Transport } from '../wire/transport.js'
import { chunkPush, mergeDeltas } from './anti-entropy.js'

/** Most key records per PUSH frame (below MAX_KEY_RECORDS, the receiver's limit). */
export const CHUNK_KEYS = 5_000
/**
 * Most entries per PUSH frame (~1–2 MB, at most ~9 MB with the longest
 * names): bigger deltas go as a sequence of frames, so no frame nears the
 * receiver's inbound budget (a frame larger than it is never accepted).
 */
export const CHUNK_ENTRIES = 20_000

/** Options of {@link EagerPush}. */
export interface EagerPushOptions {
  transport: Transport
  membership: Membership
  /** Peers per push. */
  fanout: number
  /** Counters to bump: PUSH frames sent for local changes, and forwards. */
  stats: { pushesOut: number; forwards: number }
  /**
   * Messages to send ahead of a delta in its sequence (the MARKS of its
   * counters, resets/delta-marks.ts); none when absent. Must not throw.
   */
  ahead?: (delta: Delta) => Message[]
}

/** The batching queue of eager push and forwarding. */
export class EagerPush {
  readonly #o: EagerPushOptions
  #outbox: Delta[] = []
  #outboxKeys: KeyTuple[] = []
  #forwards: Array<{ delta: unknown; k: KeyTuple[] | undefined; from: string }> = []
  #scheduled = false

  constructor(o: EagerPushOptions) {
    this.#o = o
  }

  /** Queues a durable local delta (with the key record of its operation, if keyed) for the next flush. */
  local(delta: Delta, record?: KeyRecord): void {
    this.#outbox.push(delta)
    if (record) this.#outboxKeys.push(toKeyTuple(record))
    this.#schedule()
  }

  /** Queues a change received from peer `from` (as received, with its key tuples) to forward once. */
  forward(delta: unknown, k: KeyTuple[] | undefined, from: string): void {
    this.#forwards.push({ delta, k, from })
    this.#schedule()
  }

  /** Sends everything queued now. Never throws (sends are queued by the transport). */
  flush(): void {
    const m = this.#o.membership
    const self = m.self.id
    if (this.#outbox.length > 0) {
      const targets = m.pushTargets(this.#o.fanout)
      const outbox = this.#outbox
      const keys = this.#outboxKeys
      this.#outbox = []
      this.#outboxKeys = []
      // No peer to push to (a lone node): nothing to merge; anti-entropy carries it to later peers.
      if (targets.length > 0) this.#pushLocal(targets, outbox, keys)
    }
    const fwd = this.#forwards
    this.#forwards = []
    for (const { delta, k, from } of fwd) {
      // Forwarded verbatim: the key records with the delta that carries their operations; led by
      // this node's marks of its counters (merged from the sender's, which came first, and more).
      const msg: PushMsg = k ? { t: MsgType.PUSH, f: self, delta, k } : { t: MsgType.PUSH, f: self, delta }
      // One array for every target: the transport encodes it once.
      const seq: Message[] = [...(this.#o.ahead?.(delta as Delta) ?? []), msg]
      for (const addr of m.pushTargets(this.#o.fanout, from)) {
        this.#o.transport.sendAll(addr, seq)
        this.#o.stats.forwards++
      }
    }
  }

  // One PUSH sequence of the merged local deltas (with their key records) to each target.
  #pushLocal(targets: string[], outbox: Delta[], keys: KeyTuple[]): void {
    const self = this.#o.membership.self.id
    const delta = mergeDeltas(outbox)
    // One sequence per peer: the key records may need more than one frame.
    const pushes: PushMsg[] = chunkPush(delta, keys, CHUNK_ENTRIES, CHUNK_KEYS).map((p) =>
      p.k
        ? { t: MsgType.PUSH, f: self, delta: p.delta, k: p.k }
        : { t: MsgType.PUSH, f: self, delta: p.delta },
    )
    // The marks of its counters lead the sequence: the receiver merges them before the totals.
    const msgs: Message[] = [...(this.#o.ahead?.(delta) ?? []), ...pushes]
    // The same array to every target: the transport encodes it once.
    for (const addr of targets) {
      this.#o.transport.sendAll(addr, msgs)
      this.#o.stats.pushesOut += pushes.length
    }
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush()
    })
  }
}
