// A Map of string keys split into 16 Maps, so that no single insert makes a
// V8 Map of hundreds of thousands of keys rehash at once: a Map doubles its
// table when full, and at 262 144 keys that one set() took about 25 ms here,
// which is a block of the event loop on its own (at a restart loading the
// key records, or under the write whose key filled the table). Split, a
// growth rehashes about a 16th of the keys.

const SHARDS = 16

/** Which of the Maps holds `key`: a hash of its last 8 characters and its length (where client keys vary most). */
function shardOf(key: string): number {
  const n = key.length
  let h = n
  for (let i = n > 8 ? n - 8 : 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h ^ (h >>> 7) ^ (h >>> 15)) & (SHARDS - 1)
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
