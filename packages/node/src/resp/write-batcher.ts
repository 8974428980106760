// Plain RESP writes (INCR, INCRBY, DECR, DECRBY, TALLY.INCRBY without KEY or
// CONSISTENCY) from every connection, gathered over one turn of the event
// loop and handed to the node as one batch: one map operation per counter,
// one log append, one eager push. Each write is still answered with its own
// value, and only once the batch is durable: through a Pending each (no
// promise per write), all settled in one loop when the batch's log append
// resolves, so every connection's replies leave in one write.

import { Pending } from '@tally/kit/resp'
import type { BatchOp, TallyNode } from '../node.js'

/** Gathers plain writes into {@link TallyNode.applyBatch} calls. */
export class WriteBatcher {
  readonly #node: TallyNode
  readonly #maxBatch: number
  #ops: BatchOp[] = []
  #waiters: Array<Pending<number>> = []
  #scheduled = false
  readonly #onTurnEnd = (): void => {
    this.#scheduled = false
    this.flush()
  }

  /** `maxBatch` (default 4096): a batch this big is applied at once instead of at the end of the turn. */
  constructor(node: TallyNode, maxBatch = 4096) {
    this.#node = node
    this.#maxBatch = maxBatch
  }

  /** Writes waiting for the end of the turn. */
  get queued(): number {
    return this.#ops.length
  }

  /**
   * Queues `op`; resolves with the counter's value right after it once its
   * batch is durable. Rejects with the error that refused the op alone (a
   * TallyError of @tally/crdt) or the whole batch (TALLY_SHUTTING_DOWN,
   * TALLY_STORE_FAILED). Never settles before returning (nor inside
   * {@link flush}): always from a later microtask. Never throws.
   */
  add(op: BatchOp): Pending<number> {
    const p = new Pending<number>()
    this.#waiters.push(p)
    this.#ops.push(op)
    if (this.#ops.length >= this.#maxBatch) this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#onTurnEnd)
    }
    return p
  }

  /**
   * Applies the queued writes now (their values are then fixed; replies still
   * wait for durability). Call it before a read or any other write, so that
   * they see the queued writes as Redis would: in order. Never throws.
   */
  flush(): void {
    if (this.#ops.length === 0) return
    const ops = this.#ops
    const waiters = this.#waiters
    this.#ops = []
    this.#waiters = []
    let batch: ReturnType<TallyNode['applyBatch']>
    try {
      batch = this.#node.applyBatch(ops)
    } catch (err) {
      // Later, as a refused append would: the caller may still be running its own pipeline.
      queueMicrotask(() => {
        for (const w of waiters) w.reject(err)
      })
      return
    }
    const { values, durable } = batch
    durable.then(
      () => {
        for (let i = 0; i < waiters.length; i++) {
          const v = values[i]
          const w = waiters[i] as Pending<number>
          if (typeof v === 'number') w.resolve(v)
          else w.reject(v)
        }
      },
      (err: unknown) => {
        for (let i = 0; i < waiters.length; i++) {
          const v = values[i]
          ;(waiters[i] as Pending<number>).reject(typeof v === 'number' ? err : v)
        }
      },
    )
  }
}
