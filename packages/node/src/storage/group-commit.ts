/**
 * Group commit: callers submit items one by one; a single writer drains them
 * in batches, one write in flight at a time. Items that arrive while a write
 * is in flight ride the next batch together, so with a syncing writer there
 * is one fsync per batch and throughput grows with concurrency instead of
 * being capped at one fsync per item.
 *
 * Barriers run exclusively, after every item submitted before them has been
 * written and before any item submitted after them (used for snapshots).
 *
 * No I/O of its own: the writer is injected, so this is tested with a fake.
 */
export class GroupCommit<T> {
  readonly #write: (items: T[]) => Promise<void>
  readonly #maxBatch: number
  readonly #gather: 'microtask' | 'turn'
  #queue: Array<Pending<T>> = []
  #draining = false
  #batches = 0
  #items = 0

  /**
   * `write(items)` persists one batch (it must not be called concurrently, and
   * this class never does); `maxBatch` bounds the items per batch (default
   * 4096). `gather` says how long an idle queue waits for company before its
   * first write: `'microtask'` (default) takes what one synchronous burst
   * submitted; `'turn'` waits for the end of the event loop's current turn
   * (`setImmediate`), so items submitted by every I/O callback of one poll
   * phase (e.g. one request per socket) ride one batch. Use `'turn'` for a
   * writer that returns at once (nothing ever queues behind its write).
   */
  constructor(
    write: (items: T[]) => Promise<void>,
    opts: { maxBatch?: number; gather?: 'microtask' | 'turn' } = {},
  ) {
    const max = opts.maxBatch ?? 4096
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxBatch must be a positive integer`)
    this.#write = write
    this.#maxBatch = max
    this.#gather = opts.gather ?? 'microtask'
  }

  /** Resolves once the batch holding `item` was written; rejects with the writer's error if that write failed. */
  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'item', item, resolve, reject })
      this.#kick()
    })
  }

  /** Runs `fn` alone, after everything submitted earlier; resolves/rejects with it. */
  barrier(fn: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'barrier', fn, resolve, reject })
      this.#kick()
    })
  }

  /** Resolves once everything submitted so far has been handled (errors are reported to their submitters, not here). */
  flush(): Promise<void> {
    return this.barrier(async () => {}).catch(() => {})
  }

  /** Batches written and items in them so far (for tests and metrics). */
  get stats(): { batches: number; items: number; queued: number } {
    return { batches: this.#batches, items: this.#items, queued: this.#queue.length }
  }

  #kick(): void {
    if (this.#draining) return
    this.#draining = true
    // A microtask lets a synchronous burst of submits form the first batch together; the end of
    // the turn, every submit of the turn's I/O callbacks.
    if (this.#gather === 'turn') setImmediate(this.#drainNow)
    else queueMicrotask(this.#drainNow)
  }

  readonly #drainNow = (): void => {
    void this.#drain()
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!
        if (head.kind === 'barrier') {
          this.#queue.shift()
          try {
            await head.fn()
            head.resolve()
          } catch (err) {
            head.reject(err)
          }
          continue
        }
        let n = 0
        while (n < this.#queue.length && n < this.#maxBatch && this.#queue[n]!.kind === 'item') n++
        const batch = this.#queue.splice(0, n) as Array<PendingItem<T>>
        this.#batches++
        this.#items += batch.length
        try {
          await this.#write(batch.map((p) => p.item))
          for (const p of batch) p.resolve()
        } catch (err) {
          for (const p of batch) p.reject(err)
        }
      }
    } finally {
      this.#draining = false
    }
  }
}

interface PendingItem<T> {
  kind: 'item'
  item: T
  resolve: () => void
  reject: (err: unknown) => void
}

type Pending<T> =
  | PendingItem<T>
  | { kind: 'barrier'; fn: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void }
