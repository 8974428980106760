// The storage of a CounterMap: every counter name once, every replica id
// once, and every (counter, replica) entry as one row of typed arrays,
// 17 bytes a row: p, n, seq as uint32 (a page holding a value past 2^32−1
// becomes float64: value-pages.ts), the next entry of the counter as int32,
// the replica's number as uint8 (a page holding replica number 256 or more
// becomes int32: a map rarely knows more than a few replicas). A million
// counters are a few hundred typed-array pages and
// one name index, not a million Maps and entry objects; objects are made
// only at the API edge (state(), deltas).
//
// Rows live in fixed-size pages that are never reallocated: growing adds a
// page, so a large map never copies its columns nor leaves freed copies
// behind in the allocator (which would stay resident).

import { NameArena } from './name-arena.js'
import { NameIndex } from './name-index.js'
import { ValuePages } from './value-pages.js'

const SHIFT = 13
/** Rows per page (8192: a value page is 96 KiB, 192 KiB once promoted to float64). */
const PAGE = 1 << SHIFT
const MASK = PAGE - 1

/** End of an entry chain, and "no entry". */
export const END = -1

/**
 * Counter names, replica ids and entries, each numbered from 0 in order of
 * first use. A dropped counter's number and its entries' rows are given to
 * later counters and entries (so a counter number does not say when it was
 * created); replica numbers are never reused. The entries
 * of one counter form a chain (`head(counter)`, then `next(entry)`), in
 * order of creation. The arithmetic and the CRDT rules live in CounterMap
 * and counter-entry.ts; this is storage only.
 */
export class EntryTable {
  // Per entry: p, n, seq (non-negative safe integers) in one value page
  // (uint32, promoted to float64 for a page holding a larger one), the next
  // entry of the same counter in an int32 page, and the replica number in
  // a uint8 page (promoted to int32 for a page holding a number past 255).
  readonly #f = new ValuePages(PAGE, 3)
  readonly #next: Int32Array[] = []
  readonly #rep: Array<Uint8Array | Int32Array> = []
  #wideReps = 0
  // Per counter: first entry.
  readonly #head: Int32Array[] = []
  // Rows handed out (the next fresh row), and rows in use.
  #rows = 0
  #entries = 0
  // Rows and counter numbers of dropped counters, given out again first.
  readonly #freeRows: number[] = []
  readonly #freeCounters: number[] = []
  /** Name of each counter, by number, as bytes (see {@link name}). */
  readonly names = new NameArena()
  /** Id of each replica, by number. */
  readonly replicaIds: string[] = []
  readonly #counterOf = new NameIndex(this.names)
  readonly #replicaOf = new Map<string, number>()
  // The counter last found or added and the string it was found by: the
  // write path looks a name up and then puts it in a delta, which then
  // needs no new string.
  #recent = END
  #recentName = ''

  /** Makes room in the name index for `counters` counters in all (NameIndex.reserve). */
  reserve(counters: number): void {
    this.#counterOf.reserve(counters)
  }

  /** Number of entries. */
  get entries(): number {
    return this.#entries
  }

  /**
   * Counter numbers handed out: every counter's number is below it (loop
   * over 0…counters−1 and skip those with no entry, see {@link live}).
   */
  get counters(): number {
    return this.names.count
  }

  /** Number of counters held (numbers handed out minus those dropped and not given out again). */
  get liveCounters(): number {
    return this.names.count - this.#freeCounters.length
  }

  /** True when counter number `c` is held (it has an entry: a held counter always has one). */
  live(c: number): boolean {
    return this.head(c) !== END
  }

  /** Name of counter number `c` (a new string, unless it is the counter last found or added). */
  name(c: number): string {
    return c === this.#recent ? this.#recentName : this.names.name(c)
  }

  /** Number of a known counter, or undefined. O(1). */
  counter(name: string): number | undefined {
    const c = this.#counterOf.get(name)
    if (c !== undefined) {
      this.#recent = c
      this.#recentName = name
    }
    return c
  }

  /** Number of counter `name`, numbering it if new. O(1) amortised. */
  counterFor(name: string): number {
    return this.#counterOf.get(name) ?? this.addCounter(name)
  }

  /**
   * Numbers new counter `name` (the caller checked it is unknown), reusing a
   * dropped counter's number if any, and returns its number. The caller
   * adds its first entry before anything walks the counters. O(1) amortised.
   */
  addCounter(name: string): number {
    const free = this.#freeCounters.pop()
    let c: number
    if (free !== undefined) {
      c = free
      this.names.reuse(c, name)
    } else {
      c = this.names.count
      if ((c & MASK) === 0) this.#head.push(new Int32Array(PAGE).fill(END))
      this.names.add(name)
    }
    this.#counterOf.add(name, c)
    this.#recent = c
    this.#recentName = name
    return c
  }

  /**
   * Number of the known counter whose name `len` bytes of `bytes` from `o`
   * spell (`h` = their `hashNameBytes`), or undefined. O(len) expected.
   */
  counterOfBytes(bytes: Uint8Array, o: number, len: number, h: number): number | undefined {
    return this.#counterOf.getBytes(bytes, o, len, h)
  }

  /**
   * Numbers the new counter whose name `len` bytes of `bytes` from `o` spell
   * (a checked, valid name the caller found unknown; `h` = its
   * `hashNameBytes`) and returns its number. O(len) amortised.
   */
  addCounterBytes(bytes: Uint8Array, o: number, len: number, h: number): number {
    const free = this.#freeCounters.pop()
    let c: number
    if (free !== undefined) {
      c = free
      this.names.reuseBytes(c, bytes, o, len)
    } else {
      c = this.names.count
      if ((c & MASK) === 0) this.#head.push(new Int32Array(PAGE).fill(END))
      this.names.addBytes(bytes, o, len)
    }
    this.#counterOf.addHashed(c, h)
    return c
  }

  /**
   * Drops counter number `c` (held) and every entry of it: its name misses
   * afterwards, and its number and rows are given to later counters and
   * entries. Released name bytes are compacted once they pass a page and
   * half the arena. O(entries of the counter), amortised.
   */
  dropCounter(c: number): void {
    for (let e = this.head(c); e !== END; e = this.next(e)) {
      this.#freeRows.push(e)
      this.#entries--
    }
    ;(this.#head[c >>> SHIFT] as Int32Array)[c & MASK] = END
    this.#counterOf.remove(c)
    this.names.release(c)
    this.#freeCounters.push(c)
    if (this.#recent === c) {
      this.#recent = END
      this.#recentName = ''
    }
    const dead = this.names.deadBytes
    if (dead > 1 << 16 && dead * 2 > this.names.bytes) this.names.compact((k) => this.live(k))
  }

  /** Number of a known replica id, or undefined. O(1). */
  replica(id: string): number | undefined {
    return this.#replicaOf.get(id)
  }

  /** Number of replica `id`, numbering it if new. O(1) amortised. */
  replicaFor(id: string): number {
    let r = this.#replicaOf.get(id)
    if (r !== undefined) return r
    r = this.replicaIds.length
    this.replicaIds.push(id)
    this.#replicaOf.set(id, r)
    return r
  }

  /** First entry of counter number `c`, or END. */
  head(c: number): number {
    return (this.#head[c >>> SHIFT] as Int32Array)[c & MASK] as number
  }

  /** The entry after `e` in its counter's chain, or END. */
  next(e: number): number {
    return (this.#next[e >>> SHIFT] as Int32Array)[e & MASK] as number
  }

  /** Replica number of entry `e`. */
  rep(e: number): number {
    return (this.#rep[e >>> SHIFT] as Uint8Array | Int32Array)[e & MASK] as number
  }

  /** Replica-number pages promoted to int32 (a replica number past 255 in them), for tests and memory accounting. */
  get wideReplicaPages(): number {
    return this.#wideReps
  }

  /** Increment total of entry `e`. */
  p(e: number): number {
    return this.#f.get(e, 0)
  }

  /** Decrement total of entry `e`. */
  n(e: number): number {
    return this.#f.get(e, 1)
  }

  /** Seq of entry `e`'s last change. */
  seq(e: number): number {
    return this.#f.get(e, 2)
  }

  /** Sets entry `e` to (p, n, seq) (non-negative safe integers: the caller checked). */
  set(e: number, p: number, n: number, seq: number): void {
    this.#f.set3(e, p, n, seq)
  }

  /** Value pages promoted to float64 (a value past 2^32−1 in them), for tests and memory accounting. */
  get widePages(): number {
    return this.#f.widePages
  }

  /** Entry of replica number `r` in counter number `c`, or END. O(entries of the counter). */
  find(c: number, r: number): number {
    for (let e = this.head(c); e !== END; e = this.next(e)) if (this.rep(e) === r) return e
    return END
  }

  /** Adds a zero entry of replica `r` to counter `c` (caller checked there is none) and returns its number. */
  add(c: number, r: number): number {
    let e = this.#freeRows.pop()
    if (e === undefined) {
      e = this.#rows++
      if ((e & MASK) === 0) {
        this.#f.addPage()
        this.#next.push(new Int32Array(PAGE))
        this.#rep.push(new Uint8Array(PAGE))
      }
    }
    this.set(e, 0, 0, 0)
    const i = e >>> SHIFT
    let reps = this.#rep[i] as Uint8Array | Int32Array
    if (r > 0xff && reps instanceof Uint8Array) {
      reps = new Int32Array(reps)
      this.#rep[i] = reps
      this.#wideReps++
    }
    reps[e & MASK] = r
    ;(this.#next[i] as Int32Array)[e & MASK] = END
    let last = this.head(c)
    if (last === END) (this.#head[c >>> SHIFT] as Int32Array)[c & MASK] = e
    else {
      for (let x = this.next(last); x !== END; x = this.next(x)) last = x
      ;(this.#next[last >>> SHIFT] as Int32Array)[last & MASK] = e
    }
    this.#entries++
    return e
  }
}
