import type { NameArena } from './name-arena.js'

// Counter name → counter number, as open-addressing hash tables of int32s
// over the names the EntryTable already holds (in its NameArena): 12 bytes a
// name at most (a slot at ≤ 50 % load, plus its 32-bit hash kept for
// rehashing), where a Map costs several times that, and one probe into a
// compact table. 64 tables, chosen by the top bits of the hash, each
// doubled on its own, so no growth re-places more than a 64th of the names.

/** A 32-bit FNV-1a-style hash of a string's UTF-16 code units. Pure. */
function hashName(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  // Final avalanche so the low bits (the table index) depend on every char.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

/** {@link hashName} of the string that `len` one-byte characters of `bytes` from `o` spell. Pure. */
export function hashNameBytes(bytes: Uint8Array, o: number, len: number): number {
  let h = 0x811c9dc5
  for (let i = o; i < o + len; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

const HSHIFT = 13
const HPAGE = 1 << HSHIFT
const HMASK = HPAGE - 1

/** The index is split by the top SHARD_BITS bits of a name's hash into this many tables. */
const SHARD_BITS = 6
const SHARDS = 1 << SHARD_BITS
const SHARD_SHIFT = 32 - SHARD_BITS
/** Slots of a table at first. */
const FIRST_SLOTS = 8

/**
 * Finds the number of a name among the names of an arena (numbered 0, 1, …
 * in order of addition; a removed number may be given to a new name). The
 * caller owns the arena and adds to the index each name it appends.
 *
 * The slots are split into 64 tables by the top bits of the name's hash,
 * each growing on its own: a growth re-places the names of one table, a
 * 64th of them (about 16 000 at a million names, well under a millisecond),
 * where one table of two million slots took 40–100 ms to re-place at once,
 * holding the event loop that long (during a restart, or under the write
 * that created the millionth counter).
 */
export class NameIndex {
  readonly #names: NameArena
  // Per table: slot → counter number + 1 (0: empty); length a power of two.
  readonly #tables: Int32Array[] = Array.from({ length: SHARDS }, () => new Int32Array(FIRST_SLOTS))
  // Per table: numbers indexed in it.
  readonly #lives = new Int32Array(SHARDS)
  // Hash of each name, by number, in fixed pages (never copied).
  readonly #hashes: Uint32Array[] = []
  #count = 0
  // The name of the latest miss of get() and its hash: adding a name just
  // looked up (the usual sequence) does not hash it again.
  #missName: string | undefined
  #missHash = 0

  /** Indexes the names of `names` (the caller's arena, read live). */
  constructor(names: NameArena) {
    this.#names = names
  }

  /** Number of `name`, or undefined. O(length of the name) expected. */
  get(name: string): number | undefined {
    const h = hashName(name)
    const slots = this.#tables[h >>> SHARD_SHIFT] as Int32Array
    const mask = slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) {
        this.#missName = name
        this.#missHash = h
        return undefined
      }
      const c = v - 1
      if (this.#hash(c) === h && this.#names.equals(c, name)) return c
    }
  }

  /**
   * Number of the name spelt by `len` bytes of `bytes` from `o`, whose
   * {@link hashNameBytes} is `h`, or undefined. O(len) expected.
   */
  getBytes(bytes: Uint8Array, o: number, len: number, h: number): number | undefined {
    const slots = this.#tables[h >>> SHARD_SHIFT] as Int32Array
    const mask = slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) return undefined
      const c = v - 1
      if (this.#hash(c) === h && this.#names.equalsBytes(c, bytes, o, len)) return c
    }
  }

  /**
   * Records that name `c` of the arena has {@link hashNameBytes} `h`: `c` is
   * the next number or a {@link remove}d one (not indexed). Throws RangeError
   * for any other number.
   */
  addHashed(c: number, h: number): void {
    if (c > this.#count || c < 0 || !Number.isInteger(c))
      throw new RangeError(`NameIndex.addHashed: expected number ${this.#count} or a removed one, got ${c}`)
    this.#missName = undefined
    if (c === this.#count) {
      if ((c & HMASK) === 0) this.#hashes.push(new Uint32Array(HPAGE))
      this.#count++
    }
    ;(this.#hashes[c >>> HSHIFT] as Uint32Array)[c & HMASK] = h
    const t = h >>> SHARD_SHIFT
    const live = (this.#lives[t] as number) + 1
    this.#lives[t] = live
    let slots = this.#tables[t] as Int32Array
    if (live * 2 > slots.length) slots = this.#grow(t)
    place(slots, h, c)
  }

  /**
   * Records that name `c` of the arena is `name`: `c` is the next number, or
   * one {@link remove}d before and given to `name` by the arena (the caller
   * checked `name` is not indexed). Throws RangeError for any other number.
   */
  add(name: string, c: number): void {
    this.addHashed(c, name === this.#missName ? this.#missHash : hashName(name))
  }

  /**
   * Removes number `c` (indexed before): `get` of its name misses afterwards,
   * and the number may be added again under another name. O(1) expected
   * (backward-shift deletion: no tombstones). Returns false when `c` was not indexed.
   */
  remove(c: number): boolean {
    if (!(c >= 0 && c < this.#count)) return false
    const h = this.#hash(c)
    const t = h >>> SHARD_SHIFT
    const slots = this.#tables[t] as Int32Array
    const mask = slots.length - 1
    let i = h & mask
    for (; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) return false
      if (v === c + 1) break
    }
    // Shift later members of the probe run back into the hole.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const v = slots[j] as number
      if (v === 0) break
      const home = this.#hash(v - 1) & mask
      // Move v into the hole at i unless its home lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j
      if (!inRange) {
        slots[i] = v
        i = j
      }
    }
    slots[i] = 0
    this.#lives[t] = (this.#lives[t] as number) - 1
    return true
  }

  /**
   * Sizes the tables for `names` names in all, as they would have grown to
   * holding that many (a table grows past it on its own if its share runs
   * over): a bulk load that knows its size re-places no name as it grows.
   * A hint only: never shrinks a table. Throws RangeError unless `names` is a
   * non-negative safe integer.
   */
  reserve(names: number): void {
    if (!Number.isSafeInteger(names) || names < 0)
      throw new RangeError(`NameIndex.reserve: expected a count, got ${names}`)
    let want = FIRST_SLOTS
    while (want < 2 * Math.ceil(names / SHARDS)) want *= 2
    for (let t = 0; t < SHARDS; t++) while ((this.#tables[t] as Int32Array).length < want) this.#grow(t)
  }

  /** Slots of the largest table (for tests and memory accounting: a growth re-places at most half of them). */
  get largestTable(): number {
    let most = 0
    for (const slots of this.#tables) if (slots.length > most) most = slots.length
    return most
  }

  /** Slots in all (for memory accounting: 4 bytes each). */
  get slots(): number {
    let n = 0
    for (const slots of this.#tables) n += slots.length
    return n
  }

  #hash(c: number): number {
    return (this.#hashes[c >>> HSHIFT] as Uint32Array)[c & HMASK] as number
  }

  // Doubles table t and re-places its numbers from their kept hashes (no name is re-read).
  #grow(t: number): Int32Array {
    const old = this.#tables[t] as Int32Array
    const slots = new Int32Array(old.length * 2)
    for (const v of old) if (v !== 0) place(slots, this.#hash(v - 1), v - 1)
    this.#tables[t] = slots
    return slots
  }
}

// Puts number c (hash h) in the first empty slot of its probe run in `slots`.
function place(slots: Int32Array, h: number, c: number): void {
  const mask = slots.length - 1
  let i = h & mask
  while (slots[i] !== 0) i = (i + 1) & mask
  slots[i] = c + 1
}
