// String key → value, as open-addressing hash tables of int32s (linear
// probing) over dense columns of keys, values and hashes: the key ledger's
// index of some hundred thousand Idempotency-Keys. It replaced 16 V8 Maps
// (which the ledger used to keep any one Map from rehashing hundreds of
// thousands of keys at once): a lookup and the insert after a miss hash the
// key once and probe a compact table, where a Map hashes the string itself
// and walks a chain of heap entries. Loading 300 000 key records into the
// ledger took about half the time, in about the same memory (node README,
// "The key ledger's index in open-addressing tables").
//
// Keys are hashed with the kit's hash32 (FNV-1a with a murmur3 finaliser:
// keys that begin or end alike spread over every table and slot). 64
// tables, chosen by the top bits of the hash, each with its own columns,
// each grown and shrunk on its own: no growth or shrink re-places more than
// about a 64th of the keys (under a millisecond at a million keys), as the
// crdt's NameIndex does for counter names. A table that falls to an eighth
// full is rebuilt at a quarter full, so the memory of a burst of keys is
// given back once they expire, as a Map gives it back.

import { hash32 } from '@tally/kit'

/** The index is split by the top SHARD_BITS bits of a key's hash into this many tables. */
const SHARD_BITS = 6
const SHARDS = 1 << SHARD_BITS
const SHARD_SHIFT = 32 - SHARD_BITS
const SHARD_MASK = SHARDS - 1
/** Slots of a table at first, and at least. */
const FIRST_SLOTS = 8

// One of the 64 tables: slots (entry + 1, 0 empty; a power of two, at most half full) over
// its entries' columns (key undefined: a free entry, listed in `free`).
interface Table<V> {
  slots: Int32Array
  keys: Array<string | undefined>
  values: Array<V | undefined>
  hashes: Uint32Array
  free: number[]
  live: number
}

function emptyTable<V>(): Table<V> {
  return {
    slots: new Int32Array(FIRST_SLOTS),
    keys: [],
    values: [],
    hashes: new Uint32Array(4),
    free: [],
    live: 0,
  }
}

/**
 * A map from string keys to values (never `undefined`). Entries are numbered
 * (`find` returns a number; `value`, `setValue` and `remove` take one): a
 * caller that looks a key up and then adds or changes it hashes the key once.
 * A number stays valid until the next {@link remove} (which may renumber the
 * entries of one table). Iteration is table by table, not in insertion order.
 */
export class KeyIndex<V> {
  readonly #tables: Array<Table<V>> = Array.from({ length: SHARDS }, () => emptyTable<V>())
  #size = 0
  // The key of the latest miss of find() and its hash: adding the key just
  // looked up (the usual sequence) does not hash it again.
  #missKey: string | undefined
  #missHash = 0

  /** Keys held. */
  get size(): number {
    return this.#size
  }

  /** The entry number of `key`, or -1. O(length of the key) expected. */
  find(key: string): number {
    const h = hash32(key)
    const t = h >>> SHARD_SHIFT
    const table = this.#tables[t] as Table<V>
    const slots = table.slots
    const mask = slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) {
        this.#missKey = key
        this.#missHash = h
        return -1
      }
      const e = v - 1
      if (table.hashes[e] === h && table.keys[e] === key) return (e << SHARD_BITS) | t
    }
  }

  /** The value of entry `e` (a number {@link find} or {@link add} returned, valid). */
  value(e: number): V {
    return (this.#tables[e & SHARD_MASK] as Table<V>).values[e >>> SHARD_BITS] as V
  }

  /** Sets the value of entry `e` (a number {@link find} or {@link add} returned, valid). */
  setValue(e: number, value: V): void {
    ;(this.#tables[e & SHARD_MASK] as Table<V>).values[e >>> SHARD_BITS] = value
  }

  /** The value held under `key`, or undefined. */
  get(key: string): V | undefined {
    const e = this.find(key)
    return e < 0 ? undefined : this.value(e)
  }

  /**
   * Adds `key` (not held: the caller found it missing) with `value`; returns
   * its entry number. After a {@link find} of the same key that missed, the
   * key is not hashed again.
   */
  add(key: string, value: V): number {
    const h = key === this.#missKey ? this.#missHash : hash32(key)
    this.#missKey = undefined
    const t = h >>> SHARD_SHIFT
    const table = this.#tables[t] as Table<V>
    let e: number
    if (table.free.length > 0) {
      e = table.free.pop() as number
      table.keys[e] = key
      table.values[e] = value
    } else {
      e = table.keys.length
      table.keys.push(key)
      table.values.push(value)
      if (e === table.hashes.length) {
        const hashes = new Uint32Array(e * 2)
        hashes.set(table.hashes)
        table.hashes = hashes
      }
    }
    table.hashes[e] = h
    table.live++
    // At most half full: twice the slots when this entry would pass that (the rebuild places it).
    if (table.live * 2 > table.slots.length) rebuild(table, table.slots.length * 2, false)
    else place(table.slots, h, e)
    this.#size++
    return (e << SHARD_BITS) | t
  }

  /** Sets `key` to `value`, adding it when missing. */
  set(key: string, value: V): void {
    const e = this.find(key)
    if (e < 0) this.add(key, value)
    else this.setValue(e, value)
  }

  /** Removes `key`; true when it was held. */
  delete(key: string): boolean {
    const e = this.find(key)
    if (e < 0) return false
    this.remove(e)
    return true
  }

  /**
   * Removes entry `e` (a number {@link find} or {@link add} returned, valid).
   * The entries after it in its probe run move back (no tombstones: a
   * table's probes stay as short as its load makes them). A table left an
   * eighth full is rebuilt smaller, its entries renumbered: every number
   * handed out before is then invalid.
   */
  remove(e: number): void {
    const table = this.#tables[e & SHARD_MASK] as Table<V>
    const x = e >>> SHARD_BITS
    const slots = table.slots
    const mask = slots.length - 1
    let i = (table.hashes[x] as number) & mask
    while (slots[i] !== x + 1) i = (i + 1) & mask
    // Backward-shift deletion: an entry further along the run moves into the hole unless
    // its home slot lies cyclically in (hole, its slot].
    let j = i
    for (;;) {
      j = (j + 1) & mask
      const v = slots[j] as number
      if (v === 0) break
      const home = (table.hashes[v - 1] as number) & mask
      const stays = i <= j ? i < home && home <= j : i < home || home <= j
      if (stays) continue
      slots[i] = v
      i = j
    }
    slots[i] = 0
    table.keys[x] = undefined
    table.values[x] = undefined
    table.free.push(x)
    table.live--
    this.#size--
    // An eighth full: a quarter full again (removals come one at a time: the table holds exactly an
    // eighth of its slots here), with columns of its live entries only.
    if (slots.length > FIRST_SLOTS && table.live * 8 <= slots.length)
      rebuild(table, Math.max(FIRST_SLOTS, slotsFor(table.live * 4)), true)
  }

  /** Every [key, value], table by table. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const table of this.#tables) {
      const keys = table.keys
      for (let e = 0; e < keys.length; e++) {
        const k = keys[e]
        if (k !== undefined) yield [k, table.values[e] as V]
      }
    }
  }

  /** Slots of each table, in order (for tests of the spread: no table holds much more than a 64th). */
  tableSlots(): number[] {
    return this.#tables.map((t) => t.slots.length)
  }

  /** Slots in use in all tables (for tests: exactly {@link size} when every entry is in one slot). */
  get occupiedSlots(): number {
    let n = 0
    for (const t of this.#tables) for (const v of t.slots) if (v !== 0) n++
    return n
  }

  /** Entries the columns of all tables have room for, free ones included (for tests of the memory given back). */
  get capacity(): number {
    let n = 0
    for (const t of this.#tables) n += t.keys.length
    return n
  }
}

// The smallest power of two ≥ n.
function slotsFor(n: number): number {
  let s = 1
  while (s < n) s *= 2
  return s
}

// Gives `table` `size` slots and re-places its entries; with `compact`, its columns are
// rebuilt first with only the live entries (renumbered in order, no free ones).
function rebuild<V>(table: Table<V>, size: number, compact: boolean): void {
  if (compact) {
    const keys: Array<string | undefined> = []
    const values: Array<V | undefined> = []
    const hashes = new Uint32Array(Math.max(4, table.live))
    for (let e = 0; e < table.keys.length; e++) {
      const k = table.keys[e]
      if (k === undefined) continue
      hashes[keys.length] = table.hashes[e] as number
      keys.push(k)
      values.push(table.values[e])
    }
    table.keys = keys
    table.values = values
    table.hashes = hashes
    table.free = []
  }
  const slots = new Int32Array(size)
  const keys = table.keys
  for (let e = 0; e < keys.length; e++) if (keys[e] !== undefined) place(slots, table.hashes[e] as number, e)
  table.slots = slots
}

// Puts entry e (hash h) in the first empty slot of its probe run.
function place(slots: Int32Array, h: number, e: number): void {
  const mask = slots.length - 1
  let i = h & mask
  while (slots[i] !== 0) i = (i + 1) & mask
  slots[i] = e + 1
}
