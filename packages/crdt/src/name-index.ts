import type { NameArena } from './name-arena.js'

// Counter name → counter number, as an open-addressing hash table of
// int32s over the names the EntryTable already holds (in its NameArena): 12 bytes a name at
// most (a slot at ≤ 50 % load, plus its 32-bit hash kept for rehashing),
// where a Map costs several times that, and one probe into a compact table.

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

/**
 * Finds the number of a name among the names of an arena (numbered 0, 1, …
 * in order of addition, never removed). The caller owns the arena and adds
 * to the index each name it appends.
 */
export class NameIndex {
  readonly #names: NameArena
  // Slot → counter number + 1 (0: empty). Length a power of two.
  #slots = new Int32Array(64)
  #mask = 63
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
    const slots = this.#slots
    const mask = this.#mask
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
    const slots = this.#slots
    const mask = this.#mask
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) return undefined
      const c = v - 1
      if (this.#hash(c) === h && this.#names.equalsBytes(c, bytes, o, len)) return c
    }
  }

  /** Records that name `c` of the arena (the next number, not indexed yet) has {@link hashNameBytes} `h`. */
  addHashed(c: number, h: number): void {
    if (c !== this.#count)
      throw new RangeError(`NameIndex.addHashed: expected number ${this.#count}, got ${c}`)
    this.#missName = undefined
    if ((c & HMASK) === 0) this.#hashes.push(new Uint32Array(HPAGE))
    ;(this.#hashes[c >>> HSHIFT] as Uint32Array)[c & HMASK] = h
    this.#count++
    if (this.#count * 2 > this.#slots.length) this.#grow()
    else this.#place(this.#slots, this.#mask, h, c)
  }

  /** Records that name `c` of the arena is `name`, c being the next number (the caller checked `name` is not indexed). */
  add(name: string, c: number): void {
    if (c !== this.#count) throw new RangeError(`NameIndex.add: expected number ${this.#count}, got ${c}`)
    const h = name === this.#missName ? this.#missHash : hashName(name)
    this.#missName = undefined
    if ((c & HMASK) === 0) this.#hashes.push(new Uint32Array(HPAGE))
    ;(this.#hashes[c >>> HSHIFT] as Uint32Array)[c & HMASK] = h
    this.#count++
    if (this.#count * 2 > this.#slots.length) this.#grow()
    else this.#place(this.#slots, this.#mask, h, c)
  }

  #hash(c: number): number {
    return (this.#hashes[c >>> HSHIFT] as Uint32Array)[c & HMASK] as number
  }

  #place(slots: Int32Array, mask: number, h: number, c: number): void {
    let i = h & mask
    while (slots[i] !== 0) i = (i + 1) & mask
    slots[i] = c + 1
  }

  // Doubles the table and re-places every number from its kept hash (no name is re-read).
  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2)
    const mask = slots.length - 1
    for (let c = 0; c < this.#count; c++) this.#place(slots, mask, this.#hash(c), c)
    this.#slots = slots
    this.#mask = mask
  }
}
