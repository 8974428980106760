// The p, n and seq of every entry, in fixed pages of `width` values a row.
// A page starts as 32-bit unsigned integers (4 bytes a value) and is
// promoted, once and in place of the old one, to float64 (8 bytes: every
// safe integer is exact) when a value past 2^32−1 is stored in it. Counter
// totals and operation numbers are small almost always, so a million
// entries cost 12 bytes of values each instead of 24, and a large one costs
// only its own page the wider type.

/** Largest value a narrow page holds. */
export const NARROW_MAX = 0xffffffff

/**
 * Rows of `width` non-negative safe integers, numbered 0, 1, …, in pages of
 * `rowsPerPage` rows that are never reallocated except by a promotion (a
 * narrow page's values copied once into a float64 page). Storage only: the
 * caller checks the values (non-negative safe integers) and row numbers.
 */
export class ValuePages {
  readonly #pages: Array<Uint32Array | Float64Array> = []
  readonly #shift: number
  readonly #mask: number
  readonly #width: number
  #wide = 0

  /** `rowsPerPage` must be a power of two. Throws RangeError otherwise, or for a width < 1. */
  constructor(rowsPerPage: number, width: number) {
    if (!Number.isInteger(Math.log2(rowsPerPage)) || rowsPerPage < 1)
      throw new RangeError(`ValuePages: rowsPerPage must be a power of two, got ${rowsPerPage}`)
    if (!Number.isInteger(width) || width < 1) throw new RangeError(`ValuePages: bad width ${width}`)
    this.#shift = Math.log2(rowsPerPage)
    this.#mask = rowsPerPage - 1
    this.#width = width
  }

  /** Pages held (the next row past the last page needs {@link addPage}). */
  get pages(): number {
    return this.#pages.length
  }

  /** Pages promoted to float64 (for tests and memory accounting). */
  get widePages(): number {
    return this.#wide
  }

  /** Bytes of values held, in all pages. */
  get bytes(): number {
    let b = 0
    for (const p of this.#pages) b += p.byteLength
    return b
  }

  /** Appends a narrow page of zeros. O(rows per page). */
  addPage(): void {
    this.#pages.push(new Uint32Array((this.#mask + 1) * this.#width))
  }

  /** Value `k` (0 ≤ k < width) of row `row` (in a page already added). */
  get(row: number, k: number): number {
    return (this.#pages[row >>> this.#shift] as Uint32Array | Float64Array)[
      (row & this.#mask) * this.#width + k
    ] as number
  }

  /**
   * Sets value `k` of row `row` to `v` (a non-negative safe integer; the
   * caller checked), promoting the row's page to float64 first when `v`
   * passes {@link NARROW_MAX}. O(1), or O(rows per page) for a promotion.
   */
  set(row: number, k: number, v: number): void {
    const i = row >>> this.#shift
    let page = this.#pages[i] as Uint32Array | Float64Array
    if (v > NARROW_MAX && page instanceof Uint32Array) page = this.#promote(i)
    page[(row & this.#mask) * this.#width + k] = v
  }

  /** Sets the three values of row `row` (width 3) at once: as three {@link set} calls. */
  set3(row: number, a: number, b: number, c: number): void {
    const i = row >>> this.#shift
    let page = this.#pages[i] as Uint32Array | Float64Array
    if ((a > NARROW_MAX || b > NARROW_MAX || c > NARROW_MAX) && page instanceof Uint32Array)
      page = this.#promote(i)
    const o = (row & this.#mask) * 3
    page[o] = a
    page[o + 1] = b
    page[o + 2] = c
  }

  #promote(i: number): Float64Array {
    const wide = new Float64Array(this.#pages[i] as Uint32Array)
    this.#pages[i] = wide
    this.#wide++
    return wide
  }
}
