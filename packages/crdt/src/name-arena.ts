// Counter names as bytes in fixed pages. A valid name is 1–128 printable
// ASCII characters (one byte each), so a million names cost their bytes
// plus 5 bytes each, instead of a million string objects (about 40 bytes
// each, plus a pointer) that every major garbage collection has to mark.
// Strings are made only at the API edge (states, deltas, name lists).

// Bytes per page: a name's position is page << 16 | offset in one uint32.
const PAGE_BYTES = 1 << 16
const MAX_PAGES = 1 << 16
const SHIFT = 13
/** Names per index page. */
const PAGE = 1 << SHIFT
const MASK = PAGE - 1

/**
 * Names numbered 0, 1, … in order of addition. A number can be released
 * and given to another name ({@link reuse}); released bytes come back with
 * {@link compact}. A name never spans two pages; the unused tail of a page
 * is under 256 bytes.
 */
export class NameArena {
  #pages: Uint8Array[] = []
  // Bytes used in the last page (a full page makes the next add open one).
  #used = PAGE_BYTES
  // Per name: page number << 16 | offset in the page, and its length.
  readonly #at: Uint32Array[] = []
  readonly #len: Uint8Array[] = []
  #count = 0
  #dead = 0

  /** Number of names held. */
  get count(): number {
    return this.#count
  }

  /**
   * Appends `name` and returns its number. Throws RangeError unless every
   * character is in U+0001–U+00FF and the name is 1–255 characters (valid
   * counter names always are), or once 4 GiB of names are held; nothing is
   * added when it throws. O(length).
   */
  add(name: string): number {
    const at = this.#store(name)
    const c = this.#count
    if ((c & MASK) === 0) {
      this.#at.push(new Uint32Array(PAGE))
      this.#len.push(new Uint8Array(PAGE))
    }
    this.#set(c, at, name.length)
    this.#count = c + 1
    return c
  }

  /**
   * Gives number `c` (a number {@link release}d before) to `name`: its bytes
   * are appended, the old ones are dead until {@link compact}. Throws as
   * {@link add}, and RangeError for a number never handed out. O(length).
   */
  reuse(c: number, name: string): void {
    if (!Number.isInteger(c) || c < 0 || c >= this.#count)
      throw new RangeError(`NameArena.reuse: ${c} was never handed out`)
    this.#set(c, this.#store(name), name.length)
  }

  /** Marks name `c`'s bytes dead (its number is given out again with {@link reuse}). O(1). */
  release(c: number): void {
    this.#dead += this.lengthOf(c)
  }

  /** Bytes of names held, released ones included. */
  get bytes(): number {
    return this.#pages.length === 0 ? 0 : (this.#pages.length - 1) * PAGE_BYTES + this.#used
  }

  /** Bytes of released names still held (given back by {@link compact}). */
  get deadBytes(): number {
    return this.#dead
  }

  /**
   * Copies the names `live(c)` says are live into fresh pages, giving back
   * the bytes of released ones. O(bytes of live names). A released name's
   * bytes must not be read afterwards.
   */
  compact(live: (c: number) => boolean): void {
    const old = this.#pages
    this.#pages = []
    this.#used = PAGE_BYTES
    for (let c = 0; c < this.#count; c++) {
      if (!live(c)) continue
      const pos = this.#pos(c)
      const len = this.lengthOf(c)
      const src = old[pos >>> 16] as Uint8Array
      const o = pos & 0xffff
      const at = this.#room(len)
      ;(this.#pages[this.#pages.length - 1] as Uint8Array).set(src.subarray(o, o + len), at & 0xffff)
      this.#set(c, at, len)
    }
    this.#dead = 0
  }

  // Copies `name` in and returns its position (page << 16 | offset). Throws as add.
  #store(name: string): number {
    const len = name.length
    if (len < 1 || len > 255) throw new RangeError(`NameArena: a name must be 1-255 characters, got ${len}`)
    for (let i = 0; i < len; i++) {
      const ch = name.charCodeAt(i)
      if (ch > 0xff || ch === 0) throw new RangeError('NameArena: a name must be one byte a character')
    }
    const at = this.#room(len)
    const page = this.#pages[this.#pages.length - 1] as Uint8Array
    const o = at & 0xffff
    for (let i = 0; i < len; i++) page[o + i] = name.charCodeAt(i)
    return at
  }

  // Reserves `len` bytes at the end of the last page (opening one if needed); returns the position.
  #room(len: number): number {
    if (this.#used + len > PAGE_BYTES) {
      // A position is 32 bits: 65 536 pages (4 GiB of names) at most.
      if (this.#pages.length >= MAX_PAGES)
        throw new RangeError('NameArena: 4 GiB of names is the most it holds')
      this.#pages.push(new Uint8Array(PAGE_BYTES))
      this.#used = 0
    }
    const o = this.#used
    this.#used = o + len
    return ((this.#pages.length - 1) * PAGE_BYTES + o) >>> 0
  }

  #set(c: number, at: number, len: number): void {
    ;(this.#at[c >>> SHIFT] as Uint32Array)[c & MASK] = at
    ;(this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] = len
  }

  /**
   * Appends the name spelt by `len` bytes of `bytes` from `o` (the caller
   * checked they are a valid name: 1–255 bytes, none 0) and returns its
   * number. Throws RangeError once 4 GiB of names are held. O(len).
   */
  addBytes(bytes: Uint8Array, o: number, len: number): number {
    const at = this.#storeBytes(bytes, o, len)
    const c = this.#count
    if ((c & MASK) === 0) {
      this.#at.push(new Uint32Array(PAGE))
      this.#len.push(new Uint8Array(PAGE))
    }
    this.#set(c, at, len)
    this.#count = c + 1
    return c
  }

  /**
   * Gives number `c` (a number {@link release}d before) to the name spelt by
   * `len` bytes of `bytes` from `o` (checked by the caller, as for
   * {@link addBytes}). Throws as {@link addBytes}, and RangeError for a
   * number never handed out. O(len).
   */
  reuseBytes(c: number, bytes: Uint8Array, o: number, len: number): void {
    if (!Number.isInteger(c) || c < 0 || c >= this.#count)
      throw new RangeError(`NameArena.reuseBytes: ${c} was never handed out`)
    this.#set(c, this.#storeBytes(bytes, o, len), len)
  }

  // Copies `len` bytes of `bytes` from `o` in and returns their position. Throws as addBytes.
  #storeBytes(bytes: Uint8Array, o: number, len: number): number {
    if (len < 1 || len > 255) throw new RangeError(`NameArena: a name must be 1-255 characters, got ${len}`)
    const at = this.#room(len)
    // A loop, not set(subarray(…)): names are short, and a restart stores a
    // million of them (no view object made per name).
    const page = this.#pages[this.#pages.length - 1] as Uint8Array
    const d = at & 0xffff
    for (let i = 0; i < len; i++) page[d + i] = bytes[o + i] as number
    return at
  }

  /** True when name `c` is spelt by `len` bytes of `bytes` from `o`. O(len). */
  equalsBytes(c: number, bytes: Uint8Array, o: number, len: number): boolean {
    if ((this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] !== len) return false
    const pos = this.#pos(c)
    const page = this.#pages[pos >>> 16] as Uint8Array
    const at = pos & 0xffff
    for (let i = 0; i < len; i++) if (page[at + i] !== bytes[o + i]) return false
    return true
  }

  /** The page holding name `c` (read it from {@link offsetOf} for {@link lengthOf} bytes). */
  pageOf(c: number): Uint8Array {
    return this.#pages[this.#pos(c) >>> 16] as Uint8Array
  }

  /** Offset of name `c` in its page. */
  offsetOf(c: number): number {
    return this.#pos(c) & 0xffff
  }

  /** Length of name `c`. */
  lengthOf(c: number): number {
    return (this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] as number
  }

  /** Name `c` as a string (a new string each call). O(length). */
  name(c: number): string {
    const pos = this.#pos(c)
    const o = pos & 0xffff
    const page = this.#pages[pos >>> 16] as Uint8Array
    return String.fromCharCode.apply(null, page.subarray(o, o + this.lengthOf(c)) as unknown as number[])
  }

  /** True when name `c` is `s`. O(length). */
  equals(c: number, s: string): boolean {
    const len = (this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] as number
    if (s.length !== len) return false
    const pos = this.#pos(c)
    const page = this.#pages[pos >>> 16] as Uint8Array
    const o = pos & 0xffff
    for (let i = 0; i < len; i++) if (page[o + i] !== s.charCodeAt(i)) return false
    return true
  }

  #pos(c: number): number {
    return (this.#at[c >>> SHIFT] as Uint32Array)[c & MASK] as number
  }
}
