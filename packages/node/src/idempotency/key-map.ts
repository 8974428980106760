// A Map of string keys split into 16 Maps, so that no single insert makes a
// V8 Map of hundreds of thousands of keys rehash at once: a Map doubles its
// table when full, and at 262 144 keys that one set() took about 25 ms here,
// which is a block of the event loop on its own (at a restart loading the
// key records, or under the write whose key filled the table). Split, a
// growth rehashes about a 16th of the keys.

const SHARDS = 16

/**
 * Which of the Maps holds `key`: a hash of all its characters. (A hash of
 * the last 8 alone, tried first, put keys that end alike, as
 * `<id>-<fixed suffix>` keys do, in one or two Maps, which then rehashed
 * hundreds of thousands of keys at once again.) A few ns a character, against
 * several hundred for the Map lookup itself on a large Map. Split, inserts
 * cost about 20 % more than into one Map (300 000 UUID keys: 0.92 against
 * 0.73 s here, interleaved): the price of no block over a 16th of the keys.
 */
function shardOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h ^ (h >>> 7) ^ (h >>> 15) ^ (h >>> 23)) & (SHARDS - 1)
}

/**
 * A string-keyed map with `get`, `set`, `delete`, `size` and iteration, as
 * a `Map` has, except that iteration is not in insertion order (Map by Map).
 */
export class KeyMap<V> {
  readonly #maps: Array<Map<string, V>> = Array.from({ length: SHARDS }, () => new Map<string, V>())

  get(key: string): V | undefined {
    return (this.#maps[shardOf(key)] as Map<string, V>).get(key)
  }

  set(key: string, value: V): this {
    ;(this.#maps[shardOf(key)] as Map<string, V>).set(key, value)
    return this
  }

  delete(key: string): boolean {
    return (this.#maps[shardOf(key)] as Map<string, V>).delete(key)
  }

  get size(): number {
    let n = 0
    for (const m of this.#maps) n += m.size
    return n
  }

  /** Every entry, Map by Map (not in insertion order). */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const m of this.#maps) yield* m
  }
}
