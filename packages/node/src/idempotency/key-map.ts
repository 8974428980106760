// A Map of string keys split into 16 Maps, so that no single insert makes a
// V8 Map of hundreds of thousands of keys rehash at once: a Map doubles its
// table when full, and at 262 144 keys that one set() took about 25 ms here,
// which is a block of the event loop on its own (at a restart loading the
// key records, or under the write whose key filled the table). Split, a
// growth rehashes at most about a 13th of the keys, and no two Maps grow at
// the same count (below).

const SHARDS = 16

// Map k takes 24 + k shares of the keys in 512 (25 + k for k ≥ 8: 7.8 % of them at most,
// against 6.25 % for an even split). Filled evenly, the Maps doubled at about the same count:
// at a recovery's bulk load, their rehashes came in one burst (a 40 ms block at 262 144 keys
// here). With shares between 24 and 40, no two Maps reach the same size at the same count,
// at any doubling: their rehashes are spread over the load. 512 entries: a key's Map is the
// entry at the top 9 bits of its hash (integer operations only).
const SHARE_OF = (() => {
  const out: number[] = []
  for (let k = 0; k < SHARDS; k++) for (let i = 0; i < 24 + k + (k >= 8 ? 1 : 0); i++) out.push(k)
  return Uint8Array.from(out)
})()

/**
 * Which of the Maps holds `key`: a hash of all its characters, spread by
 * the shares above. (A hash of the last 8 alone, tried first, put keys that
 * end alike, as `<id>-<fixed suffix>` keys do, in one or two Maps, which then
 * rehashed hundreds of thousands of keys at once again.) About 0.3 µs for
 * a 27-character key as decoded from a snapshot (a sliced string), as long
 * as the Map lookup itself: a caller that looks a key up and then sets it
 * takes its Map once ({@link KeyMap.mapFor}). Sixteen Maps filled as fast as
 * one with such keys (0.43 against 0.41 s for 300 000, interleaved); with
 * 300 000 fresh `crypto.randomUUID()` strings they took 0.92 against 0.73 s.
 */
function shardOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 15
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return SHARE_OF[h >>> 23] as number
}

/**
 * A string-keyed map with `get`, `set`, `delete`, `size` and iteration, as
 * a `Map` has, except that iteration is not in insertion order (Map by Map).
 */
export class KeyMap<V> {
  readonly #maps: Array<Map<string, V>> = Array.from({ length: SHARDS }, () => new Map<string, V>())

  /**
   * The Map that holds (or would hold) `key`: a caller that looks a key up
   * and then sets it hashes it once (a hash of a 27-character key decoded
   * from a snapshot takes about 0.3 µs here, as long as the Map lookup).
   */
  mapFor(key: string): Map<string, V> {
    return this.#maps[shardOf(key)] as Map<string, V>
  }

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
