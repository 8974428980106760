/**
 * Per-replica index of counter names ordered by the sequence number of their
 * latest update, so "entries of replica r changed after seq k" costs
 * O(log n + answer) instead of a walk of every counter.
 *
 * An update appends (name, seq); the older record for that name goes stale
 * and is skipped on read (the caller says which seq is current), then dropped
 * by compaction once stale records outnumber live ones.
 */
export class ReplicaLog {
  #seqs: number[] = []
  #names: string[] = []
  #stale = 0

  /** Records that `name` now has sequence number `seq`; `replaced` says an older record exists. O(1) amortised for in-order seqs. */
  add(name: string, seq: number, replaced: boolean): void {
    if (replaced) this.#stale++
    const n = this.#seqs.length
    if (n === 0 || (this.#seqs[n - 1] as number) <= seq) {
      this.#seqs.push(seq)
      this.#names.push(name)
    } else {
      // Out-of-order arrival (a relayed delta overtook an older one): keep the array sorted.
      const i = this.#upperBound(seq)
      this.#seqs.splice(i, 0, seq)
      this.#names.splice(i, 0, name)
    }
  }

  /**
   * Calls `visit(name, seq)` for each record with seq > `after`, oldest first.
   * `isCurrent(name, seq)` filters stale records. Compacts when worthwhile.
   */
  forEachAfter(
    after: number,
    isCurrent: (name: string, seq: number) => boolean,
    visit: (name: string) => void,
  ): void {
    this.#maybeCompact(isCurrent)
    for (let i = this.#upperBound(after); i < this.#seqs.length; i++) {
      const name = this.#names[i] as string
      if (isCurrent(name, this.#seqs[i] as number)) visit(name)
    }
  }

  /** Highest seq recorded, or 0. */
  get maxSeq(): number {
    return this.#seqs.length === 0 ? 0 : (this.#seqs[this.#seqs.length - 1] as number)
  }

  // First index whose seq is > x.
  #upperBound(x: number): number {
    let lo = 0
    let hi = this.#seqs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#seqs[mid] as number) <= x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #maybeCompact(isCurrent: (name: string, seq: number) => boolean): void {
    if (this.#stale < 1024 || this.#stale * 2 < this.#seqs.length) return
    const seqs: number[] = []
    const names: string[] = []
    for (let i = 0; i < this.#seqs.length; i++) {
      const name = this.#names[i] as string
      const seq = this.#seqs[i] as number
      if (isCurrent(name, seq)) {
        seqs.push(seq)
        names.push(name)
      }
    }
    this.#seqs = seqs
    this.#names = names
    this.#stale = 0
  }
}
