/**
 * Per-replica index of entries ordered by the sequence number of their
 * latest update, so "entries of replica r changed after seq k" costs
 * O(log n + answer) instead of a walk of every counter. Keys are the
 * caller's entry numbers (small non-negative integers); the records live in
 * two typed arrays (8 bytes a record: seqs as uint32 until one passes
 * 2^32−1, then as float64, 12 bytes), not in objects or strings. The arrays
 * grow by half (not double) when full, so at most a third of them is unused.
 *
 * An update appends (key, seq); the older record for that key goes stale
 * and is skipped on read (the caller says which seq is current), then dropped
 * by compaction once stale records outnumber live ones. Records arriving out
 * of seq order are inserted in place when close to the end (a relayed delta
 * overtaking an older one), else appended and sorted once, lazily, on the
 * next read (a full state merged in key order).
 */
// How far back from the end an out-of-order record is inserted in place.
const NEAR_END = 64
// Largest seq the narrow (uint32) seq array holds.
const NARROW_MAX = 0xffffffff

type Seqs = Uint32Array | Float64Array

// A seq array of the same kind as `like`, of length `n`.
function seqsLike(like: Seqs, n: number): Seqs {
  return like instanceof Uint32Array ? new Uint32Array(n) : new Float64Array(n)
}

export class ReplicaLog {
  readonly #isCurrent: (key: number, seq: number) => boolean
  #seqs: Seqs = new Uint32Array(4)
  #keys: Int32Array = new Int32Array(4)
  #len = 0
  #stale = 0
  #sorted = true
  #max = 0
  // Bumped by every change that moves or widens the records (compaction, the
  // first seq past 2^32−1), not by appends: a sort in steps started before
  // one starts over.
  #version = 0
  // A sort in steps in progress ({@link sortStep}), or null.
  #job: SortJob | null = null

  /** `isCurrent(key, seq)` tells whether `seq` is still the latest seq of entry `key` (else the record is stale). */
  constructor(isCurrent: (key: number, seq: number) => boolean) {
    this.#isCurrent = isCurrent
  }

  /**
   * Records that entry `key` (an int32 ≥ 0) now has sequence number `seq`;
   * `replaced` says an older record exists. O(1) amortised for in-order
   * seqs; a record slightly out of order (within NEAR_END of the end: the
   * usual relay reordering) is inserted in place in O(distance); anything
   * further marks the log for one lazy sort, so a bulk load in key order
   * costs O(n log n), not O(n²).
   */
  add(key: number, seq: number, replaced: boolean): void {
    if (replaced) this.#stale++
    if (this.#len === this.#seqs.length) this.#grow()
    if (seq > NARROW_MAX && this.#seqs instanceof Uint32Array) {
      this.#seqs = new Float64Array(this.#seqs)
      this.#version++
    }
    const n = this.#len
    const seqs = this.#seqs
    if (seq >= this.#max || !this.#sorted) {
      if (seq > this.#max) this.#max = seq
      else if (seq < this.#max) this.#sorted = false
      seqs[n] = seq
      this.#keys[n] = key
      this.#len++
    } else {
      let i = n
      while (i > 0 && n - i < NEAR_END && (seqs[i - 1] as number) > seq) i--
      if (i > 0 && (seqs[i - 1] as number) > seq) {
        this.#sorted = false
        seqs[n] = seq
        this.#keys[n] = key
      } else {
        seqs.copyWithin(i + 1, i, n)
        this.#keys.copyWithin(i + 1, i, n)
        seqs[i] = seq
        this.#keys[i] = key
      }
      this.#len++
    }
    this.#maybeCompact()
  }

  /**
   * Calls `visit(key)` for each current (non-stale) record with seq > `after`,
   * in seq order, until `visit` returns false. O(log n + answer) once sorted.
   */
  forEachAfter(after: number, visit: (key: number) => unknown): void {
    if (after >= this.#max) return
    // A second call only when records appended during a sort in steps came out of order.
    while (!this.sortStep(Number.POSITIVE_INFINITY)) {}
    for (let i = this.#upperBound(after); i < this.#len; i++) {
      const key = this.#keys[i] as number
      if (this.#isCurrent(key, this.#seqs[i] as number) && visit(key) === false) return
    }
  }

  /**
   * Notes that one current record went stale without a newer one (its entry
   * was dropped), so compaction counts it. O(1) amortised.
   */
  forget(): void {
    this.#stale++
    this.#maybeCompact()
  }

  /** Highest seq recorded, or 0. O(1). */
  get maxSeq(): number {
    return this.#max
  }

  /** Records held, stale ones included (for tests and memory accounting). */
  get length(): number {
    return this.#len
  }

  /** True once a seq past 2^32−1 made the seqs float64 (for tests and memory accounting). */
  get wide(): boolean {
    return this.#seqs instanceof Float64Array
  }

  /** Records the arrays have room for (for tests and memory accounting). */
  get capacity(): number {
    return this.#seqs.length
  }

  // Grows by half: at most a third of the arrays is unused, and each record
  // is copied about twice over the log's life (doubling: once, but up to
  // half the arrays unused).
  #grow(): void {
    const cap = this.#seqs.length + (this.#seqs.length >>> 1)
    const seqs = seqsLike(this.#seqs, cap)
    seqs.set(this.#seqs)
    const keys = new Int32Array(cap)
    keys.set(this.#keys)
    this.#seqs = seqs
    this.#keys = keys
  }

  /** True while the records are in seq order (a read then needs no sort first). */
  get sorted(): boolean {
    return this.#sorted
  }

  /**
   * Puts the records in seq order a piece at a time: does about `maxWork`
   * records' worth of the sort (at least one piece) and returns true once
   * they are sorted. A read sorts at once whatever is left (so calling this
   * between turns of an event loop, after a bulk load, spares the first read
   * that wait). Records added between calls wait at the end and are sorted
   * already when they came in order after the rest (a replica's new records
   * do); otherwise, or after a compaction or the first seq past 2^32−1, the
   * sort starts over.
   * The sort is stable: an LSD radix sort over 16-bit digits of the seq (a
   * safe integer: at most 4 digits, constant digits skipped), O(n) where a
   * comparison sort of a million records stalls for a second.
   */
  sortStep(maxWork: number): boolean {
    if (this.#sorted) return true
    let job = this.#job
    if (job === null || job.version !== this.#version) {
      const n = this.#len
      job = {
        version: this.#version,
        n,
        digit: 0,
        counting: true,
        i: 0,
        count: new Uint32Array(1 << 16),
        // As long as the arrays now, so that the records keep their room to grow.
        seqs: seqsLike(this.#seqs, Math.max(4, this.#seqs.length)),
        keys: new Int32Array(Math.max(4, this.#seqs.length)),
      }
      this.#job = job
    }
    const n = job.n
    let work = 0
    while (job.digit < 4) {
      if (work >= maxWork) return false
      const d = job.digit
      const seqs = this.#seqs
      if (job.counting) {
        const count = job.count
        if (job.i === 0) count.fill(0)
        const end = Math.min(n, job.i + Math.max(1, maxWork - work))
        for (let i = job.i; i < end; i++) {
          const b = digit(seqs[i] as number, d)
          count[b] = (count[b] as number) + 1
        }
        work += end - job.i
        job.i = end
        if (end < n) continue
        job.i = 0
        // Every record has this digit: nothing to move.
        if (n === 0 || count[digit(seqs[0] as number, d)] === n) {
          job.digit++
          continue
        }
        let sum = 0
        for (let b = 0; b < count.length; b++) {
          const c = count[b] as number
          count[b] = sum
          sum += c
        }
        work += count.length >>> 4
        job.counting = false
        continue
      }
      const keys = this.#keys
      let s2 = job.seqs
      let k2 = job.keys
      const count = job.count
      const end = Math.min(n, job.i + Math.max(1, maxWork - work))
      for (let i = job.i; i < end; i++) {
        const s = seqs[i] as number
        const b = digit(s, d)
        const at = count[b] as number
        count[b] = at + 1
        s2[at] = s
        k2[at] = keys[i] as number
      }
      work += end - job.i
      job.i = end
      if (end < n) continue
      // The pass is done: its output becomes the records (the same records, in another order),
      // with those appended since the sort started after them, as they are.
      const len = this.#len
      if (len > n) {
        if (s2.length < len) {
          const s3 = seqsLike(s2, seqs.length)
          const k3 = new Int32Array(seqs.length)
          s3.set(s2.subarray(0, n))
          k3.set(k2.subarray(0, n))
          s2 = s3
          k2 = k3
        }
        s2.set(seqs.subarray(n, len), n)
        k2.set(keys.subarray(n, len), n)
      }
      job.seqs = seqs
      job.keys = keys
      this.#seqs = s2
      this.#keys = k2
      job.i = 0
      job.counting = true
      job.digit++
    }
    this.#job = null
    // Records appended during the sort: sorted as they are only when they came in order after the rest.
    const seqs = this.#seqs
    for (let i = Math.max(1, n); i < this.#len; i++)
      if ((seqs[i - 1] as number) > (seqs[i] as number)) return false
    this.#sorted = true
    return true
  }

  // First index whose seq is > x (the arrays are sorted).
  #upperBound(x: number): number {
    let lo = 0
    let hi = this.#len
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#seqs[mid] as number) <= x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  // Drops stale records once they are at least half of the log: amortised O(1) per add.
  // In place: order is kept, so a sorted log stays sorted.
  #maybeCompact(): void {
    if (this.#stale < 1024 || this.#stale * 2 < this.#len) return
    const seqs = this.#seqs
    const keys = this.#keys
    let w = 0
    for (let i = 0; i < this.#len; i++) {
      const key = keys[i] as number
      const seq = seqs[i] as number
      if (this.#isCurrent(key, seq)) {
        seqs[w] = seq
        keys[w] = key
        w++
      }
    }
    this.#len = w
    this.#stale = 0
    this.#version++
    // Give memory back when the log shrank a lot.
    if (w * 4 < seqs.length && seqs.length > 64) {
      const cap = Math.max(64, w * 2)
      this.#seqs = seqs.slice(0, cap)
      this.#keys = keys.slice(0, cap)
    }
  }
}

/** A sort of a ReplicaLog in steps: which pass, where in it, and the pass's output arrays. */
interface SortJob {
  // The log's #version when it started, and its record count then (the records it sorts).
  version: number
  n: number
  // The digit of this pass (0–3), and whether it is counting (else moving records).
  digit: number
  counting: boolean
  // The next record of the pass.
  i: number
  count: Uint32Array
  seqs: Seqs
  keys: Int32Array
}

// 16-bit digit `d` (0 = lowest) of a non-negative safe integer.
function digit(x: number, d: number): number {
  if (d < 2) return (x >>> (16 * d)) & 0xffff
  return (Math.floor(x / 0x100000000) >>> (16 * (d - 2))) & 0xffff
}
