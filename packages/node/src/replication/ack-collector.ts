// Bookkeeping of quorum writes: one wait per request id, counting distinct
// nodes that confirmed (a replayed or duplicated PUSH_ACK counts once).

interface Wait {
  confirmed: Set<string>
  need: number
  done: () => void
}

/** Collects PUSH_ACKs for pending quorum requests. */
export class AckCollector {
  #next = 1
  readonly #waits = new Map<number, Wait>()

  /**
   * Opens a request needing `need` confirmations from distinct other nodes.
   * `result` resolves with how many confirmed, as soon as `need` did or
   * after `timeoutMs`; it never rejects.
   */
  open(need: number, timeoutMs: number): { id: number; result: Promise<number> } {
    const id = this.#next++
    const confirmed = new Set<string>()
    const result = new Promise<number>((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        this.#waits.delete(id)
        resolve(confirmed.size)
      }
      this.#waits.set(id, { confirmed, need, done })
      if (need <= 0) done()
    })
    return { id, result }
  }

  /** Records that node `from` confirmed request `id` (unknown or finished ids are ignored). */
  ack(id: number, from: string): void {
    const w = this.#waits.get(id)
    if (!w) return
    w.confirmed.add(from)
    if (w.confirmed.size >= w.need) w.done()
  }

  /** Resolves every pending request now with what it has (used at shutdown). */
  finishAll(): void {
    for (const w of [...this.#waits.values()]) w.done()
  }

  /** Requests still waiting. */
  get pending(): number {
    return this.#waits.size
  }
}
