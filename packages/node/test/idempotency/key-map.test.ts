// KeyMap: a Map of string keys split in 16, so that no insert rehashes
// every key at once. It must answer as one Map would, spread typical client
// keys (UUIDs, numbered keys, keys with a fixed prefix or suffix) over its
// Maps, and in unequal shares, so that the Maps do not all double at once.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyMap } from '../../src/idempotency/key-map.js'

/**
 * The sizes of a KeyMap's Maps, in order, for values set in increasing order:
 * iteration goes Map by Map, each in insertion order, so a value below the
 * one before starts the next Map.
 */
function mapSizes(km: KeyMap<number>): number[] {
  const sizes: number[] = []
  let last = -1
  for (const [, v] of km) {
    if (sizes.length === 0 || v < last) sizes.push(0)
    sizes[sizes.length - 1] = (sizes[sizes.length - 1] as number) + 1
    last = v
  }
  return sizes
}

describe('KeyMap', () => {
  it('answers get, set, delete, size and iteration as a Map does (iteration order aside)', () => {
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.string({ maxLength: 6 }), fc.integer())
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const km = new KeyMap<number>()
        const m = new Map<string, number>()
        for (const [kind, key, v] of ops) {
          if (kind === 'set') {
            expect(km.set(key, v)).toBe(km)
            m.set(key, v)
          } else if (kind === 'delete') expect(km.delete(key)).toBe(m.delete(key))
          else {
            expect(km.get(key)).toBe(m.get(key))
            // The Map that holds it, as a caller that looks up and then sets uses it.
            expect(km.mapFor(key).get(key)).toBe(m.get(key))
          }
          expect(km.size).toBe(m.size)
        }
        expect(new Map(km)).toEqual(m)
      }),
    )
  })

  it('spreads numbered and random keys, and keys that end or begin alike: no one Map holds more than a tenth of 160 000', () => {
    for (const keyOf of [
      (i: number) => `order-${i}`,
      (i: number) => crypto.randomUUID() + String(i % 3),
      (i: number) => `key-${i}-0123456789abcdef`,
      () => `${crypto.randomUUID()}:retry`,
      (i: number) => `tenant-42/checkout/${i}/attempt`,
    ]) {
      const km = new KeyMap<number>()
      for (let i = 0; i < 160_000; i++) km.set(keyOf(i), i)
      expect(km.size).toBe(160_000)
      const sizes = mapSizes(km)
      expect(sizes.length).toBeGreaterThanOrEqual(10)
      expect(Math.max(...sizes)).toBeLessThanOrEqual(16_000)
    }
  })

  it('gives Map k a share of 24 + k in 512 of the keys (25 + k from k = 8), so that no two Maps double at the same count', () => {
    const km = new KeyMap<number>()
    const n = 160_000
    for (let i = 0; i < n; i++) km.set(`session-${i}:${i % 7}`, i)
    const sizes = mapSizes(km)
    expect(sizes).toHaveLength(16)
    // Within 12 % of the share (a standard deviation is about 1 %).
    for (const [k, size] of sizes.entries()) {
      const want = (n * (24 + k + (k >= 8 ? 1 : 0))) / 512
      expect(Math.abs(size - want) / want).toBeLessThan(0.12)
    }
  })
})
