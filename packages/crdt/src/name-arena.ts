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
 * Names numbered 0, 1, … in order of addition (never removed). A name
 * never spans two pages; the unused tail of a page is under 256 bytes.
 */
export class NameArena {
  readonly #pages: Uint8Array[] = []
  // Bytes used in the last page (a full page makes the next add open one).
  #used = PAGE_BYTES
  // Per name: page number << 16 | offset in the page, and its length.
  readonly #at: Uint32Array[] = []
  readonly #len: Uint8Array[] = []
  #count = 0

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
    const len = name.length
    if (len < 1 || len > 255) throw new RangeError(`NameArena: a name must be 1-255 characters, got ${len}`)
    if (this.#used + len > PAGE_BYTES) {
      // A position is 32 bits: 65 536 pages (4 GiB of names) at most.
      if (this.#pages.length >= MAX_PAGES)
        throw new RangeError('NameArena: 4 GiB of names is the most it holds')
      this.#pages.push(new Uint8Array(PAGE_BYTES))
      this.#used = 0
    }
    const page = this.#pages[this.#pages.length - 1] as Uint8Array
    const o = this.#used
    for (let i = 0; i < len; i++) {
      const ch = name.charCodeAt(i)
      if (ch > 0xff || ch === 0) throw new RangeError('NameArena: a name must be one byte a character')
      page[o + i] = ch
    }
    this.#used = o + len
    const c = this.#count
    if ((c & MASK) === 0) {
      this.#at.push(new Uint32Array(PAGE))
      this.#len.push(new Uint8Array(PAGE))
    }
    ;(this.#at[c >>> SHIFT] as Uint32Array)[c & MASK] = ((this.#pages.length - 1) * PAGE_BYTES + o) >>> 0
    ;(this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] = len
    this.#count = c + 1
    return c
  }

  /**
   * Appends the name spelt by `len` bytes of `bytes` from `o` (the caller
   * checked they are a valid name: 1–255 bytes, none 0) and returns its
   * number. Throws RangeError once 4 GiB of names are held. O(len).
   */
  addBytes(bytes: Uint8Array, o: number, len: number): number {
    if (len < 1 || len > 255) throw new RangeError(`NameArena: a name must be 1-255 characters, got ${len}`)
    if (this.#used + len > PAGE_BYTES) {
      if (this.#pages.length >= MAX_PAGES)
        throw new RangeError('NameArena: 4 GiB of names is the most it holds')
      this.#pages.push(new Uint8Array(PAGE_BYTES))
      this.#used = 0
    }
    const page = this.#pages[this.#pages.length - 1] as Uint8Array
    const at = this.#used
    page.set(bytes.subarray(o, o + len), at)
    this.#used = at + len
    const c = this.#count
    if ((c & MASK) === 0) {
      this.#at.push(new Uint32Array(PAGE))
      this.#len.push(new Uint8Array(PAGE))
    }
    ;(this.#at[c >>> SHIFT] as Uint32Array)[c & MASK] = ((this.#pages.length - 1) * PAGE_BYTES + at) >>> 0
    ;(this.#len[c >>> SHIFT] as Uint8Array)[c & MASK] = len
    this.#count = c + 1
    return c
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
