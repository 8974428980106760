// Every local operation reaches the store through the write fence. It knows
// which own operations are still being written (so gossip never sends them:
// the durable mark), which key records ride with them (so a snapshot taken
// meanwhile holds them), and fences the node when an append fails: the
// in-memory map may then hold operations that are not durable, so the node
// stops serving and never gossips them (their seqs stay pending, below the
// durable mark) until it restarts from what the store did keep.

import type { Delta } from '@tally/crdt'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { KeyRecord } from '../idempotency/key-ledger.js'
import type { MarksRecord } from '../resets/marks-record.js'
import type { Store } from './store.js'

/** Durable local appends, the durable mark, and the fence after a failed append. */
export class WriteFence {
  readonly #store: Store
  readonly #logger: Logger
  readonly #pending = new Set<number>()
  // Records handed to appendLocal and not yet settled.
  readonly #unsettled = new Set<KeyRecord>()
  // Appends handed to the store and not yet settled (each settles as its caller's promise).
  readonly #inflight = new Set<Promise<void>>()
  #failure: string | null = null

  constructor(opts: { store: Store; logger: Logger }) {
    this.#store = opts.store
    this.#logger = opts.logger
  }

  /**
   * Appends the delta of own operation `seq` (with its key record, if any) to
   * the store and resolves once it is durable. Until then `seq` counts as
   * pending and `record` as unsettled. Rejects with TALLY_STORE_FAILED when
   * the store refuses it; the fence then closes for good: `seq` stays
   * pending, so the operation never leaves the node.
   */
  append(seq: number, delta: Delta, record?: KeyRecord): Promise<void> {
    this.#pending.add(seq)
    if (record) this.#unsettled.add(record)
    // One `then` on the store's promise does the bookkeeping and is what `settled` waits for
    // (no async frame, no second promise per write): this runs once per write.
    const done: Promise<void> = this.#store.appendLocal(delta, record).then(
      () => {
        this.#inflight.delete(done)
        // Once fenced, no seq leaves the pending set: nothing after a refused write is gossiped.
        if (this.#failure === null) this.#pending.delete(seq)
        if (record) this.#unsettled.delete(record)
      },
      (err: unknown) => {
        this.#inflight.delete(done)
        if (record) this.#unsettled.delete(record)
        throw this.#refused(err, 'the write')
      },
    )
    this.#inflight.add(done)
    return done
  }

  /**
   * Appends a local change of reset marks / TTLs (a delete, a TTL change, an
   * applied expiry) and resolves once it is durable. Rejects with
   * TALLY_STORE_FAILED when the store refuses it, and the fence closes for
   * good, as for {@link append}.
   */
  appendMarks(marks: MarksRecord): Promise<void> {
    return this.#guarded(this.#store.appendMarks(marks, true), 'the change')
  }

  // Waits for `write` (counted in flight meanwhile); a refusal closes the
  // fence for good and becomes TALLY_STORE_FAILED naming `what`.
  #guarded(write: Promise<void>, what: string): Promise<void> {
    const done: Promise<void> = write.then(
      () => {
        this.#inflight.delete(done)
      },
      (err: unknown) => {
        this.#inflight.delete(done)
        throw this.#refused(err, what)
      },
    )
    this.#inflight.add(done)
    return done
  }

  // Closes the fence for good; the error to answer with.
  #refused(err: unknown, what: string): NodeError {
    this.#fail(err)
    return new NodeError(
      NodeErrorCodes.STORE_FAILED,
      `${what} could not be made durable: ${(err as Error).message}`,
      { cause: err },
    )
  }

  /** Own operations at or below the returned seq are durable; `latest` is the replica's latest seq. */
  durableSeq(latest: number): number {
    if (this.#pending.size === 0) return latest
    let min = Number.POSITIVE_INFINITY
    for (const s of this.#pending) if (s < min) min = s
    return min - 1
  }

  /** Key records of appends in flight (their operations are already in the map). */
  unsettled(): KeyRecord[] {
    return [...this.#unsettled]
  }

  /** Why the node stopped serving after a failed append, or null while it serves. */
  get failure(): string | null {
    return this.#failure
  }

  /** Throws TALLY_STORE_FAILED once an append has failed; returns otherwise. */
  assertServing(): void {
    if (this.#failure !== null) {
      throw new NodeError(
        NodeErrorCodes.STORE_FAILED,
        `this node stopped serving after a write could not be made durable (${this.#failure}); restart it once storage is fixed`,
      )
    }
  }

  /** Resolves once every append in flight now has settled. Never rejects. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inflight])
  }

  #fail(err: unknown): void {
    if (this.#failure !== null) return
    this.#failure = err instanceof Error ? err.message : String(err)
    this.#logger.error(
      { err },
      'write-ahead log append failed: this node stops serving reads and writes until restarted',
    )
  }
}
