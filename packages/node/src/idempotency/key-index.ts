// String key → value, as open-addressing hash tables of int32s (linear
// probing) over dense columns of keys, values and hashes: the key ledger's
// index of some hundred thousand Idempotency-Keys. It replaced 16 V8 Maps
// (which the ledger used to keep any one Map from rehashing hundreds of
// thousands of keys at once): a lookup and the insert after a miss hash the
// key once and probe a compact table, where a Map hashes the string itself
// and walks a chain of heap entries. Loading 300 000 key records into the
// ledger took about half the time (node README, "Key ledger").
//
// 64 tables, chosen by the top bits of the hash, each doubled on its own: no
// growth re-places more than about a 64th of the keys (under a millisecond at
// a million keys), as the crdt's NameIndex does for counter names.

/** The index is split by the top SHARD_BITS bits of a key's hash into this many tables. */
const SHARD_BITS = 6
const SHARDS = 1 << SHARD_BITS
const SHARD_SHIFT = 32 - SHARD_BITS
/** Slots of a table at first. */
const FIRST_SLOTS = 8
/** Hashes are kept in pages of this many (never copied when the columns grow). */
const HSHIFT = 13
const HPAGE = 1 << HSHIFT
const HMASK = HPAGE - 1

/**
 * A 32-bit FNV-1a-style hash of every UTF-16 code unit of `key`, with a final
 * avalanche so that both the top bits (the table) and the low bits (the slot)
 * depend on every character: keys that begin or end alike (`order-<n>`,
 * `<uuid>:retry`) spread over all tables. Pure.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * A map from string keys to values (never `undefined`). Entries are numbered
 * (`find` returns a number; `value`, `setValue` and `remove` take one): a
 * caller that looks a key up and then adds or changes it hashes the key once.
 * Iteration is in entry order, which is not insertion order once keys were
 * removed (a removed key's number is given to a later key). The tables never
 * shrink: an index that held n keys keeps slots for them (4 to 8 bytes a
 * key) until it is dropped.
 */
export class KeyIndex<V> {
  // Per table: slot → entry number + 1 (0: empty); length a power of two.
  readonly #tables: Int32Array[] = Array.from({ length: SHARDS }, () => new Int32Array(FIRST_SLOTS))
  // Per table: entries placed in it.
  readonly #lives = new Int32Array(SHARDS)
  // By entry number: the key (undefined: a free number), its value, its hash (in pages).
  #keys: Array<string | undefined> = []
  #values: Array<V | undefined> = []
  readonly #hashes: Uint32Array[] = []
  // Free entry numbers (removed keys'), reused before new ones.
  #free: number[] = []
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
    const h = hashKey(key)
    const slots = this.#tables[h >>> SHARD_SHIFT] as Int32Array
    const mask = slots.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i] as number
      if (v === 0) {
        this.#missKey = key
        this.#missHash = h
        return -1
      }
      const e = v - 1
      if (this.#hashOf(e) === h && this.#keys[e] === key) return e
    }
  }

  /** The value of entry `e` (a number {@link find} returned, not removed since). */
  value(e: number): V {
    return this.#values[e] as V
  }

  /** Sets the value of entry `e` (a number {@link find} returned, not removed since). */
  setValue(e: number, value: V): void {
    this.#values[e] = value
  }

  /** The value held under `key`, or undefined. */
  get(key: string): V | undefined {
    const e = this.find(key)
    return e < 0 ? undefined : (this.#values[e] as V)
  }

  /**
   * Adds `key` (not held: the caller found it missing) with `value`; returns
   * its entry number. After a {@link find} of the same key that missed, the
   * key is not hashed again.
   */
  add(key: string, value: V): number {
    const h = key === this.#missKey ? this.#missHash : hashKey(key)
    this.#missKey = undefined
    let e: number
    if (this.#free.length > 0) e = this.#free.pop() as number
    else {
      e = this.#keys.length
      if ((e & HMASK) === 0) this.#hashes.push(new Uint32Array(HPAGE))
      this.#keys.push(undefined)
      this.#values.push(undefined)
    }
    this.#keys[e] = key
    this.#values[e] = value
    ;(this.#hashes[e >>> HSHIFT] as Uint32Array)[e & HMASK] = h
    const t = h >>> SHARD_SHIFT
    const live = (this.#lives[t] as number) + 1
    this.#lives[t] = live
    let slots = this.#tables[t] as Int32Array
    // At most half full: a longer table when this entry would pass that.
    if (live * 2 > slots.length) slots = this.#grow(t)
    place(slots, h, e)
    this.#size++
    return e
  }

  /** Sets `key` to `value`, adding it when missing. */
  set(key: string, value: V): void {
    const e = this.find(key)
    if (e < 0) this.add(key, value)
    else this.#values[e] = value
  }

  /** Removes `key`; true when it was held. */
  delete(key: string): boolean {
    const e = this.find(key)
    if (e < 0) return false
    this.remove(e)
    return true
  }

  /**
   * Removes entry `e` (a number {@link find} or {@link add} returned, not
   * removed since). The entries after it in its probe run move back (no
   * tombstones: a table's probes stay as short as its load makes them).
   */
  remove(e: number): void {
    const h = this.#hashOf(e)
    const t = h >>> SHARD_SHIFT
    const slots = this.#tables[t] as Int32Array
    const mask = slots.length - 1
    let i = h & mask
    while (slots[i] !== e + 1) i = (i + 1) & mask
    // Backward-shift deletion: an entry further along the run moves into the hole unless
    // its home slot lies cyclically in (hole, its slot].
    let j = i
    for (;;) {
      j = (j + 1) & mask
      const v = slots[j] as number
      if (v === 0) break
      const home = this.#hashOf(v - 1) & mask
      const stays = i <= j ? i < home && home <= j : i < home || home <= j
      if (stays) continue
      slots[i] = v
      i = j
    }
    slots[i] = 0
    this.#lives[t] = (this.#lives[t] as number) - 1
    this.#keys[e] = undefined
    this.#values[e] = undefined
    this.#free.push(e)
    this.#size--
  }

  /** Every [key, value], in entry order. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    const keys = this.#keys
    for (let e = 0; e < keys.length; e++) {
      const k = keys[e]
      if (k !== undefined) yield [k, this.#values[e] as V]
    }
  }

  /** Slots of each table, in order (for tests of the spread: no table holds much more than a 64th). */
  tableSlots(): number[] {
    return this.#tables.map((s) => s.length)
  }

  #hashOf(e: number): number {
    return (this.#hashes[e >>> HSHIFT] as Uint32Array)[e & HMASK] as number
  }

  // Doubles table t and re-places its entries; returns the new table.
  #grow(t: number): Int32Array {
    const old = this.#tables[t] as Int32Array
    const slots = new Int32Array(old.length * 2)
    for (let i = 0; i < old.length; i++) {
      const v = old[i] as number
      if (v !== 0) place(slots, this.#hashOf(v - 1), v - 1)
    }
    this.#tables[t] = slots
    return slots
  }
}

// Puts entry e (hash h) in the first empty slot of its probe run.
function place(slots: Int32Array, h: number, e: number): void {
  const mask = slots.length - 1
  let i = h & mask
  while (slots[i] !== 0) i = (i + 1) & mask
  slots[i] = e + 1
}
