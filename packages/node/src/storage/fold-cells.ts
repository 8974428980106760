// The cells of a recovery fold (recovery-fold.ts) in growable typed arrays:
// per counter its first cell; per cell its replica number, p, n, seq and the
// next cell of the same counter. A million cells are then six flat buffers
// outside the garbage-collected heap instead of six arrays of numbers the
// collector walks and copies as they grow.

/** No cell (end of a counter's list, or a counter without cells). */
export const NONE = -1

/**
 * Cells of counters numbered 0, 1, 2 …, each counter's cells a linked list.
 * Values are doubles (exact up to 2^53, as counts are). Not checked: the
 * fold passes valid counter numbers and counts.
 */
export class FoldCells {
  head = new Int32Array(1024).fill(NONE)
  counters = 0
  rep = new Int32Array(1024)
  p = new Float64Array(1024)
  n = new Float64Array(1024)
  seq = new Float64Array(1024)
  next = new Int32Array(1024)
  cells = 0

  /** Makes room for counter number `c` (the next one: `counters`), with no cells. Amortised O(1). */
  addCounter(): number {
    const c = this.counters++
    if (c === this.head.length) {
      const head = new Int32Array(c * 2).fill(NONE)
      head.set(this.head)
      this.head = head
    }
    return c
  }

  /** Adds a cell (replica r, p, n, seq) at the front of counter c's list; returns its number. Amortised O(1). */
  addCell(c: number, r: number, p: number, n: number, seq: number): number {
    const e = this.cells++
    if (e === this.rep.length) this.#grow(e * 2)
    this.rep[e] = r
    this.p[e] = p
    this.n[e] = n
    this.seq[e] = seq
    this.next[e] = this.head[c] as number
    this.head[c] = e
    return e
  }

  /** Counter c's cell of replica r, or {@link NONE}. O(cells of c). */
  find(c: number, r: number): number {
    let e = this.head[c] as number
    while (e !== NONE && this.rep[e] !== r) e = this.next[e] as number
    return e
  }

  #grow(size: number): void {
    const rep = new Int32Array(size)
    rep.set(this.rep)
    this.rep = rep
    const next = new Int32Array(size)
    next.set(this.next)
    this.next = next
    for (const k of ['p', 'n', 'seq'] as const) {
      const a = new Float64Array(size)
      a.set(this[k])
      this[k] = a
    }
  }
}
