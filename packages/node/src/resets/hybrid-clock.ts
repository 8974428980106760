// The stamps of TTL versions: a hybrid logical clock in ms. It follows the
// wall clock, never goes backwards, and moves past every stamp it has seen,
// so a TTL set after another one was observed always wins over it (docs/crdt.md,
// "TTL (expiry) register").

/** Hybrid logical clock over an injectable wall clock (ms since the epoch). */
export class HybridClock {
  readonly #now: () => number
  #last = 0

  /** `now`: the wall clock, ms since the epoch (default Date.now). */
  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** A fresh stamp: max(wall clock, last stamp + 1), a safe integer. Never throws. */
  stamp(): number {
    const wall = Math.floor(this.#now())
    this.#last = wall > this.#last ? wall : this.#last + 1
    return this.#last
  }

  /** Moves past a stamp seen on a version from elsewhere (the next stamp is above it). */
  observe(stamp: number): void {
    if (stamp > this.#last && Number.isSafeInteger(stamp)) this.#last = stamp
  }
}
