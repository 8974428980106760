// When the next TTL falls due: a binary min-heap of (expiry ms, name). Stale
// items (the TTL was since changed) stay until popped; the caller checks each
// popped name against the current TTL. Pure: no clock, no timer.

/** Min-heap of expiries. */
export class ExpiryQueue {
  readonly #at: number[] = []
  readonly #name: string[] = []

  /** Number of queued items (stale ones included). */
  get size(): number {
    return this.#at.length
  }

  /** The earliest queued expiry (ms), or undefined when empty. */
  peek(): number | undefined {
    return this.#at[0]
  }

  /** Queues `name` to be checked at `at` (ms since the epoch). O(log n). */
  push(at: number, name: string): void {
    const a = this.#at
    const n = this.#name
    let i = a.push(at) - 1
    n.push(name)
    while (i > 0) {
      const up = (i - 1) >> 1
      if ((a[up] as number) <= at) break
      a[i] = a[up] as number
      n[i] = n[up] as string
      i = up
    }
    a[i] = at
    n[i] = name
  }

  /** Removes and returns every name due at `now` (expiry ≤ now), earliest first. O(k log n). */
  popDue(now: number): string[] {
    const out: string[] = []
    while (this.#at.length > 0 && (this.#at[0] as number) <= now) out.push(this.#pop())
    return out
  }

  #pop(): string {
    const a = this.#at
    const n = this.#name
    const top = n[0] as string
    const lastAt = a.pop() as number
    const lastName = n.pop() as string
    if (a.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= a.length) break
        const r = l + 1
        const c = r < a.length && (a[r] as number) < (a[l] as number) ? r : l
        if ((a[c] as number) >= lastAt) break
        a[i] = a[c] as number
        n[i] = n[c] as string
        i = c
      }
      a[i] = lastAt
      n[i] = lastName
    }
    return top
  }
}
