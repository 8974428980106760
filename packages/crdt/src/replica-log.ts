/**
 * Per-replica index of counter names ordered by the sequence number of their
 * latest update, so "entries of replica r changed after seq k" costs
 * O(log n + answer) instead of a walk of every counter.
 *
 * An update appends (name, seq); the older record for that name goes stale
 * and is skipped on read (the caller says which seq is current), then dropped
 * by compaction once stale records outnumber live ones. Records arriving out
 * of seq order are inserted in place when close to the end (a relayed delta
 * overtaking an older one), else appended and sorted once, lazily, on the
 * next read (a full state merged in key order).
 */
// How far back from the end an out-of-order record is inserted in place.
const NEAR_END = 64

export class ReplicaLog {
  readonly #isCurrent: (name: string, seq: number) => boolean
  #seqs: number[] = []
  #names: string[] = []
  #stale = 0
  #sorted = true
  #max = 0

  /** `isCurrent(name, seq)` tells whether `seq` is still the latest seq of `name` (else the record is stale). */
  constructor(isCurrent: (name: string, seq: number) => boolean) {
    this.#isCurrent = isCurrent
  }

  /**
   * Records that `name` now has sequence number `seq`; `replaced` says an
   * older record exists. O(1) amortised for in-order seqs; a record slightly
   * out of order (within NEAR_END of the end: the usual relay reordering) is
   * inserted in place in O(distance); anything further marks the log for one
   * lazy sort, so a bulk load in key order costs O(n log n), not O(n²).
   */
  add(name: string, seq: number, replaced: boolean): void {
    if (replaced) this.#stale++
    const n = this.#seqs.length
    if (seq >= this.#max || !this.#sorted) {
      if (seq > this.#max) this.#max = seq
      else if (seq < this.#max) this.#sorted = false
      this.#seqs.push(seq)
      this.#names.push(name)
    } else {
      let i = n
      while (i > 0 && n - i < NEAR_END && (this.#seqs[i - 1] as number) > seq) i--
      if (i > 0 && (this.#seqs[i - 1] as number) > seq) {
        this.#sorted = false
        this.#seqs.push(seq)
        this.#names.push(name)
      } else {
        this.#seqs.splice(i, 0, seq)
        this.#names.splice(i, 0, name)
      }
    }
    this.#maybeCompact()
  }

  /** Calls `visit(name)` for each current (non-stale) record with seq > `after`, in seq order. O(log n + answer) once sorted. */
  forEachAfter(after: number, visit: (name: string) => void): void {
    if (after >= this.#max) return
    this.#sort()
    for (let i = this.#upperBound(after); i < this.#seqs.length; i++) {
      const name = this.#names[i] as string
      if (this.#isCurrent(name, this.#seqs[i] as number)) visit(name)
    }
  }

  /** Highest seq recorded, or 0. O(1). */
  get maxSeq(): number {
    return this.#max
  }

  /** Records held, stale ones included (for tests and memory accounting). */
  get length(): number {
    return this.#seqs.length
  }

  #sort(): void {
    if (this.#sorted) return
    const seqs = this.#seqs
    const order = Array.from(seqs.keys()).sort((a, b) => (seqs[a] as number) - (seqs[b] as number) || a - b)
    this.#seqs = order.map((i) => seqs[i] as number)
    this.#names = order.map((i) => this.#names[i] as string)
    this.#sorted = true
  }

  // First index whose seq is > x (the arrays are sorted).
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

  // Drops stale records once they are at least half of the log: amortised O(1) per add.
  #maybeCompact(): void {
    if (this.#stale < 1024 || this.#stale * 2 < this.#seqs.length) return
    const seqs: number[] = []
    const names: string[] = []
    for (let i = 0; i < this.#seqs.length; i++) {
      const name = this.#names[i] as string
      const seq = this.#seqs[i] as number
      if (this.#isCurrent(name, seq)) {
        seqs.push(seq)
        names.push(name)
      }
    }
    this.#seqs = seqs
    this.#names = names
    this.#stale = 0
  }
}
