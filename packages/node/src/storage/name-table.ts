// Counter names of a recovery fold (recovery-fold.ts) kept as bytes: one
// arena of name bytes and an open-addressing index over it, so that a log
// of a million single-operation rows is folded without a string per name
// (the rows' name bytes are looked up where they lie in the frame) and the
// result is handed to `CounterMap.mergePacked` as the bytes it reads.
//
// Only valid counter names are stored (1–128 bytes of 0x21–0x7E): a name
// string and its bytes are then the same characters, and either finds the
// other.

const EMPTY = 0
const INITIAL_SLOTS = 1 << 10

// FNV-1a over the name's bytes (= its char codes, for a valid name).
function hashBytes(bytes: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5
  for (let i = at; i < at + len; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193)
  return h >>> 0
}

function hashString(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * Names numbered 0, 1, 2 … in the order added, looked up by bytes or by
 * string in O(length) expected. Not a general map: the caller adds only
 * valid counter names (see the file comment) and never removes one;
 * {@link repoint} makes a name find a newer number. Memory: the name bytes,
 * 9 bytes a name and 4 bytes an index slot (at most half full).
 */
export class NameTable {
  #bytes = new Uint8Array(1 << 16)
  #used = 0
  #starts = new Int32Array(1 << 12)
  #lens = new Uint8Array(1 << 12)
  #hashes = new Int32Array(1 << 12)
  #count = 0
  // Slot → name number + 1 (EMPTY: free).
  #slots = new Int32Array(INITIAL_SLOTS)

  /** Number of names added. */
  get size(): number {
    return this.#count
  }

  /** The arena: name `c`'s bytes are `bytes.subarray(start(c), start(c) + length(c))`. Valid until the next add. */
  get bytes(): Uint8Array {
    return this.#bytes
  }

  /** Where name `c`'s bytes start in {@link bytes}. */
  start(c: number): number {
    return this.#starts[c] as number
  }

  /** Byte length of name `c` (1–128). */
  length(c: number): number {
    return this.#lens[c] as number
  }

  /** Name `c` as a string. O(length). */
  name(c: number): string {
    const at = this.#starts[c] as number
    return String.fromCharCode(...this.#bytes.subarray(at, at + (this.#lens[c] as number)))
  }

  /** The number of the name held in `bytes[at, at + len)`, or -1. Pure lookup. */
  findBytes(bytes: Uint8Array, at: number, len: number): number {
    const h = hashBytes(bytes, at, len)
    const mask = this.#slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.#slots[i] as number
      if (v === EMPTY) return -1
      const c = v - 1
      if (this.#hashes[c] === (h | 0) && this.#sameBytes(c, bytes, at, len)) return c
    }
  }

  /** True when the last {@link internBytes} added its name (false: found it). */
  added = false

  /**
   * The number of the name held in `bytes[at, at + len)`, added first when
   * absent (then {@link added} is true): {@link findBytes} and
   * {@link addBytes} in one hash and one probe. The name must be valid.
   */
  internBytes(bytes: Uint8Array, at: number, len: number): number {
    const h = hashBytes(bytes, at, len)
    const mask = this.#slots.length - 1
    let i = h & mask
    for (; ; i = (i + 1) & mask) {
      const v = this.#slots[i] as number
      if (v === EMPTY) break
      const c = v - 1
      if (this.#hashes[c] === (h | 0) && this.#sameBytes(c, bytes, at, len)) {
        this.added = false
        return c
      }
    }
    const c = this.#append(len, h)
    // A loop, not set(subarray(…)): names are short, and a log may hold a million (no view made per name).
    const mine = this.#bytes
    const to = this.#starts[c] as number
    for (let k = 0; k < len; k++) mine[to + k] = bytes[at + k] as number
    if ((this.#count + 1) * 2 > this.#slots.length) {
      this.#index(c)
    } else {
      this.#slots[i] = c + 1
    }
    this.added = true
    return c
  }

  /** The number of `name`, or -1. Pure lookup. */
  find(name: string): number {
    const h = hashString(name)
    const mask = this.#slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.#slots[i] as number
      if (v === EMPTY) return -1
      const c = v - 1
      if (this.#hashes[c] === (h | 0) && this.#sameString(c, name)) return c
    }
  }

  /** Adds the name held in `bytes[at, at + len)` (not present yet; a valid name) and returns its number. */
  addBytes(bytes: Uint8Array, at: number, len: number): number {
    const c = this.#append(len, hashBytes(bytes, at, len))
    this.#bytes.set(bytes.subarray(at, at + len), this.#starts[c] as number)
    this.#index(c)
    return c
  }

  /** Adds `name` (not present yet; a valid name) and returns its number. */
  add(name: string): number {
    const c = this.#append(name.length, hashString(name))
    const at = this.#starts[c] as number
    for (let i = 0; i < name.length; i++) this.#bytes[at + i] = name.charCodeAt(i)
    this.#index(c)
    return c
  }

  /**
   * Adds name `c` again under a new number (a counter dropped and started
   * afresh): lookups find the new number from now on; `c` keeps its bytes.
   */
  repoint(c: number): number {
    const len = this.#lens[c] as number
    const d = this.#append(len, this.#hashes[c] as number)
    const from = this.#starts[c] as number
    this.#bytes.copyWithin(this.#starts[d] as number, from, from + len)
    const mask = this.#slots.length - 1
    for (let i = (this.#hashes[c] as number) & mask; ; i = (i + 1) & mask)
      if (this.#slots[i] === c + 1) {
        this.#slots[i] = d + 1
        return d
      }
  }

  #append(len: number, h: number): number {
    const c = this.#count
    if (c === this.#starts.length) {
      const starts = new Int32Array(c * 2)
      starts.set(this.#starts)
      this.#starts = starts
      const lens = new Uint8Array(c * 2)
      lens.set(this.#lens)
      this.#lens = lens
      const hashes = new Int32Array(c * 2)
      hashes.set(this.#hashes)
      this.#hashes = hashes
    }
    if (this.#used + len > this.#bytes.length) {
      const bytes = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + len))
      bytes.set(this.#bytes)
      this.#bytes = bytes
    }
    this.#starts[c] = this.#used
    this.#lens[c] = len
    this.#hashes[c] = h
    this.#used += len
    this.#count = c + 1
    return c
  }

  #index(c: number): void {
    if ((this.#count + 1) * 2 > this.#slots.length) {
      const old = this.#slots
      this.#slots = new Int32Array(old.length * 2)
      for (const v of old) if (v !== EMPTY) this.#place(v - 1)
    }
    this.#place(c)
  }

  #place(c: number): void {
    const mask = this.#slots.length - 1
    let i = (this.#hashes[c] as number) & mask
    while (this.#slots[i] !== EMPTY) i = (i + 1) & mask
    this.#slots[i] = c + 1
  }

  #sameBytes(c: number, bytes: Uint8Array, at: number, len: number): boolean {
    if (this.#lens[c] !== len) return false
    const from = this.#starts[c] as number
    const mine = this.#bytes
    for (let i = 0; i < len; i++) if (mine[from + i] !== bytes[at + i]) return false
    return true
  }

  #sameString(c: number, name: string): boolean {
    if (this.#lens[c] !== name.length) return false
    const from = this.#starts[c] as number
    const mine = this.#bytes
    for (let i = 0; i < name.length; i++) if (mine[from + i] !== name.charCodeAt(i)) return false
    return true
  }
}
