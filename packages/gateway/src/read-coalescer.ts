// Read coalescing: concurrent identical reads share one upstream request.
//
// The rule that keeps reads fresh: a read only ever joins an upstream
// request issued AFTER it arrived. While one request for a key is in flight,
// the reads that arrive are collected; when it settles, ONE new request is
// issued for all of them. So no read answers a value older than the moment
// the gateway received it (a write acknowledged before a read was sent is
// seen by that read, as without coalescing), and a hot key costs at most one
// request in flight plus one waiting, whatever the number of clients.
//
// "Issued" means sent. The gateway holds its requests to nodes until the end
// of the event-loop turn (turn-end.ts): with the `joinUntil` option, a read
// arriving in that turn joins the request made earlier in the turn, whose
// bytes have not left yet, instead of waiting for it to come back.

/** Counts of one coalescer (for metrics and tests). */
export interface CoalescerCounts {
  /** Upstream requests issued. */
  readonly issued: number
  /** Reads that were answered by a request issued for another read (no request of their own): reads = issued + joined. */
  readonly joined: number
}

interface Next<T> {
  readonly fetch: () => Promise<T>
  readonly promise: Promise<T>
  resolve: (v: T) => void
  reject: (e: unknown) => void
}

interface Slot<T> {
  /** The request in flight. */
  readonly current: Promise<T>
  /** Not sent yet: a new read may share `current`. */
  open: boolean
  /** The batch waiting for the in-flight request to settle (undefined: nobody waits yet). */
  next: Next<T> | undefined
}

/** Options of a {@link ReadCoalescer}. */
export interface CoalescerOptions {
  /**
   * Called once per request issued, with `close`: until `close()` is called,
   * new reads of the key share that request instead of waiting for the next.
   * The caller must call `close` no later than the moment the request's
   * bytes leave for a node (e.g. {@link beforeSend} of turn-end.ts when
   * every request is written in `atSend`). Default: a request is never
   * joined after it was issued.
   */
  readonly joinUntil?: (close: () => void) => void
}

/**
 * Shares upstream requests between concurrent reads of the same key. `T` is
 * what one request resolves with; every read of a batch gets that same value
 * (or the same rejection), so it must not be mutated by its users.
 * Holds state only for keys with a request in flight. Not thread-safe
 * (single event loop). Never rejects on its own: a read rejects only with
 * what its request rejected with.
 */
export class ReadCoalescer<T> {
  readonly #slots = new Map<string, Slot<T>>()
  readonly #joinUntil: ((close: () => void) => void) | undefined
  /** Called once per read that joined another read's request (e.g. a metric). */
  onJoin: () => void = () => {}
  #issued = 0
  #joined = 0

  /** See {@link CoalescerOptions}. */
  constructor(opts: CoalescerOptions = {}) {
    this.#joinUntil = opts.joinUntil
  }

  /**
   * Reads `key`: when no request for `key` is in flight, issues `fetch()`
   * now; when one is in flight but not sent yet (`joinUntil`), shares it;
   * otherwise waits for the in-flight one to settle and shares the ONE
   * request then issued for every read that arrived meanwhile (the first
   * waiter's `fetch`: reads of one key must be interchangeable). Resolves or
   * rejects as that request does. `fetch` must not throw synchronously.
   */
  run(key: string, fetch: () => Promise<T>): Promise<T> {
    const slot = this.#slots.get(key)
    if (slot === undefined) return this.#issue(key, fetch)
    if (slot.open) {
      this.#joined++
      this.onJoin()
      return slot.current
    }
    if (slot.next !== undefined) {
      this.#joined++
      this.onJoin()
      return slot.next.promise
    }
    // The first read to wait: the batch's request will be issued for it (and shared).
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    slot.next = { fetch, promise, resolve, reject }
    return promise
  }

  /** Upstream requests issued and reads that joined one, since creation. */
  counts(): CoalescerCounts {
    return { issued: this.#issued, joined: this.#joined }
  }

  /** Keys with a request in flight now. */
  get inFlight(): number {
    return this.#slots.size
  }

  #issue(key: string, fetch: () => Promise<T>): Promise<T> {
    this.#issued++
    const p = fetch()
    const slot: Slot<T> = { current: p, open: this.#joinUntil !== undefined, next: undefined }
    this.#slots.set(key, slot)
    if (this.#joinUntil !== undefined)
      this.#joinUntil(() => {
        slot.open = false
      })
    // Registered before the caller's own handlers: the slot is settled (removed, or
    // handed to the waiting batch) before any reader of `p` resumes, so a reader that
    // reads again right away starts or joins a request issued after that.
    const settled = (): void => {
      slot.open = false
      const next = slot.next
      if (next === undefined) {
        this.#slots.delete(key)
        return
      }
      this.#issue(key, next.fetch).then(next.resolve, next.reject)
    }
    p.then(settled, settled)
    return p
  }
}
