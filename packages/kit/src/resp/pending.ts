// A value settled later without a promise: the reply path of plain pipelined
// writes. A promise costs a microtask per reaction and an allocation per
// `then`; a pipeline of INCRs settles hundreds of these in one loop once
// their batch is durable, and each connection writes its replies with one
// syscall as soon as its last one settles. So a Pending calls its one
// listener synchronously, from inside `resolve` / `reject`.

/** Called once when a {@link Pending} settles, with the pending value and the tag given to `listen`. */
export type PendingListener<T, Tag> = (p: Pending<T>, tag: Tag) => void

const OPEN = 0
const RESOLVED = 1
const REJECTED = 2

/**
 * A value (or an error) settled once, later, by its producer; one consumer
 * hears of it synchronously. Not a promise: no microtask, no chaining,
 * exactly one {@link map} and one {@link listen}. It is thenable, so code
 * that `await`s a backend's result still works (at a promise's price).
 */
export class Pending<T> {
  #state: 0 | 1 | 2 = OPEN
  #value: unknown
  #map: ((v: never) => unknown) | undefined
  #listener: PendingListener<T, never> | undefined
  #tag: unknown

  /** A pending value already resolved with `v` (listeners are called at once). */
  static resolved<T>(v: T): Pending<T> {
    const p = new Pending<T>()
    p.resolve(v)
    return p
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#state !== OPEN
  }

  /** True once rejected. */
  get failed(): boolean {
    return this.#state === REJECTED
  }

  /** The value (after {@link map}) once resolved. Throws a TypeError before that. */
  get value(): T {
    if (this.#state !== RESOLVED) throw new TypeError('Pending: not resolved')
    return this.#value as T
  }

  /** The error once rejected. Throws a TypeError before that. */
  get error(): unknown {
    if (this.#state !== REJECTED) throw new TypeError('Pending: not rejected')
    return this.#value
  }

  /**
   * Settles with `v` (passed through the {@link map} function, if any) and
   * calls the listener now, if there is one. A second settlement is ignored.
   * An exception thrown by the map function rejects instead; one thrown by the
   * listener propagates to the caller.
   */
  resolve(v: T): void {
    if (this.#state !== OPEN) return
    const f = this.#map
    if (f !== undefined) {
      try {
        this.#value = f(v as never)
      } catch (err) {
        this.#state = REJECTED
        this.#value = err
        this.#notify()
        return
      }
    } else this.#value = v
    this.#state = RESOLVED
    this.#notify()
  }

  /** Settles with the error `err` and calls the listener now, if there is one. A second settlement is ignored. */
  reject(err: unknown): void {
    if (this.#state !== OPEN) return
    this.#state = REJECTED
    this.#value = err
    this.#notify()
  }

  /**
   * This same object, its value passed through `f` when it resolves (errors
   * pass unchanged). Consumes the pending value: call it once, before
   * {@link listen}, and use only the result. Throws a TypeError when a map is
   * already set. When already resolved, `f` runs now.
   */
  map<U>(f: (v: T) => U): Pending<U> {
    if (this.#map !== undefined) throw new TypeError('Pending: map already set')
    if (this.#state === RESOLVED) {
      try {
        this.#value = f(this.#value as T)
      } catch (err) {
        this.#state = REJECTED
        this.#value = err
      }
    } else if (this.#state === OPEN) this.#map = f as (v: never) => unknown
    return this as unknown as Pending<U>
  }

  /**
   * Calls `fn(this, tag)` once, when settled: synchronously from inside
   * `resolve` / `reject`, or now when already settled. The tag spares the
   * consumer a closure per value. Throws a TypeError when a listener is
   * already set.
   */
  listen<Tag>(fn: PendingListener<T, Tag>, tag: Tag): void {
    if (this.#listener !== undefined) throw new TypeError('Pending: listener already set')
    this.#listener = fn as PendingListener<T, never>
    this.#tag = tag
    if (this.#state !== OPEN) this.#notify()
  }

  /** Thenable, for `await`: a real promise of the value (a microtask, as any promise). */
  // biome-ignore lint/suspicious/noThenProperty: thenable on purpose, so `await backend.mutate(…)` works
  then<A = T, B = never>(
    onResolved?: ((v: T) => A | PromiseLike<A>) | null,
    onRejected?: ((err: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return new Promise<T>((resolve, reject) => {
      this.listen((p) => (p.failed ? reject(p.error) : resolve(p.value)), undefined)
    }).then(onResolved, onRejected)
  }

  #notify(): void {
    const fn = this.#listener
    if (fn === undefined) return
    this.#listener = undefined
    const tag = this.#tag
    this.#tag = undefined
    fn(this, tag as never)
  }
}
