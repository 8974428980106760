// KeyIndex: the key ledger's string-keyed index, open-addressing tables over
// columns. It must answer as a Map would through adds, changes and removals
// (removals shift entries back along their probe run, with no tombstones),
// and spread typical client keys (UUIDs, numbered keys, keys with a fixed
// prefix or suffix) evenly over its 64 tables, so that none grows much past
// a 64th of the keys.

import { hash32 } from '@tally/kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyIndex } from '../../src/idempotency/key-index.js'

/** Checks that `ix` holds exactly what `m` holds: size, every key's value, iteration, one slot an entry. */
function expectSame(ix: KeyIndex<number>, m: Map<string, number>): void {
  expect(ix.size).toBe(m.size)
  expect(ix.occupiedSlots).toBe(m.size)
  for (const [k, v] of m) expect(ix.get(k)).toBe(v)
  expect(new Map(ix)).toEqual(m)
}

describe('KeyIndex', () => {
  it('property: answers get, set, delete, size and iteration as a Map does (iteration order aside)', () => {
    const op = fc.tuple(
      fc.constantFrom('set', 'delete', 'get', 'findAdd', 'findRemove'),
      fc.string({ maxLength: 4 }),
      fc.integer(),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ix = new KeyIndex<number>()
        const m = new Map<string, number>()
        for (const [kind, key, v] of ops) {
          if (kind === 'set') {
            ix.set(key, v)
            m.set(key, v)
          } else if (kind === 'delete') expect(ix.delete(key)).toBe(m.delete(key))
          else if (kind === 'get') expect(ix.get(key)).toBe(m.get(key))
          else {
            // The caller's sequence: look up, then add on a miss (the key hashed once) or change/remove.
            const e = ix.find(key)
            expect(e >= 0).toBe(m.has(key))
            if (kind === 'findAdd') {
              if (e < 0) ix.add(key, v)
              else ix.setValue(e, v)
              m.set(key, v)
            } else if (e >= 0) {
              expect(ix.value(e)).toBe(m.get(key))
              ix.remove(e)
              m.delete(key)
            }
          }
          expect(ix.size).toBe(m.size)
        }
        expectSame(ix, m)
      }),
      { numRuns: 300 },
    )
  })

  it('finds every key left after removing thousands at random from full tables (entries shifted back, numbers reused)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        let x = seed
        const rand = () => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0
          return x / 2 ** 32
        }
        const ix = new KeyIndex<number>()
        const m = new Map<string, number>()
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 3000; i++) {
            const k = `k${Math.floor(rand() * 6000)}`
            ix.set(k, i)
            m.set(k, i)
          }
          for (const k of [...m.keys()]) {
            if (rand() < 0.6) {
              expect(ix.delete(k)).toBe(true)
              m.delete(k)
            }
          }
          expectSame(ix, m)
          for (let i = 0; i < 6000; i++) expect(ix.find(`k${i}`) >= 0).toBe(m.has(`k${i}`))
        }
      }),
      { numRuns: 20 },
    )
  })

  it('gives back the memory of a burst: tables and columns shrink as keys go, and grow again', () => {
    const ix = new KeyIndex<number>()
    const m = new Map<string, number>()
    for (let i = 0; i < 100_000; i++) {
      ix.add(`burst-${i}`, i)
      m.set(`burst-${i}`, i)
    }
    const peakSlots = ix.tableSlots().reduce((a, b) => a + b, 0)
    expect(peakSlots).toBeGreaterThanOrEqual(200_000)
    // All but 1 000 go (oldest first, as the ledger drops them).
    for (let i = 0; i < 99_000; i++) {
      expect(ix.delete(`burst-${i}`)).toBe(true)
      m.delete(`burst-${i}`)
    }
    expectSame(ix, m)
    // Rebuilt at an eighth full to a sixth to a third full: 1 000 keys keep at most 8 slots each,
    // and the columns hold the live entries (plus what went since a table last shrank: under a
    // quarter of them).
    const slots = ix.tableSlots().reduce((a, b) => a + b, 0)
    expect(slots).toBeLessThanOrEqual(8 * 1000 + 64 * 8)
    expect(ix.capacity).toBeLessThanOrEqual((4 / 3) * 1000 + 64 * 8)
    for (let i = 0; i < 50_000; i++) {
      ix.set(`again-${i}`, i)
      m.set(`again-${i}`, i)
    }
    expectSame(ix, m)
  })

  it('shrinks a table to a quarter full: it is rebuilt again only once half its keys have gone or as many again have come', () => {
    // Keys of table 0 alone (the top 6 bits of their hash are 0), so that its size can be followed.
    const keys: string[] = []
    for (let i = 0; keys.length < 3000; i++) if (hash32(`t0-${i}`) >>> 26 === 0) keys.push(`t0-${i}`)
    const ix = new KeyIndex<number>()
    for (const [i, k] of keys.entries()) ix.add(k, i)
    const slots0 = () => ix.tableSlots()[0] as number
    let live = keys.length
    // Remove until the table shrinks, many times over, checking the gap between two rebuilds.
    let lastShrinkLive = -1
    let size = slots0()
    while (live > 40) {
      ix.delete(keys[--live] as string)
      if (slots0() < size) {
        if (lastShrinkLive > 0) expect(live).toBeLessThanOrEqual(lastShrinkLive / 2)
        lastShrinkLive = live
        size = slots0()
        // As many keys again before it grows: add them one at a time, then remove them.
        let added = 0
        while (slots0() === size) ix.add(keys[live + added++] as string, 0)
        expect(added).toBeGreaterThanOrEqual(live)
        for (let j = added - 1; j >= 0; j--) ix.delete(keys[live + j] as string)
        size = slots0()
      }
    }
    expect(lastShrinkLive).toBeGreaterThan(0)
    expect(ix.size).toBe(live)
  })

  it('spreads numbered and random keys, and keys that begin or end alike: every one of the 64 tables has 8 192 slots at 160 000 keys (2 049–4 096 keys each)', () => {
    for (const keyOf of [
      (i: number) => `order-${i}`,
      (i: number) => crypto.randomUUID() + String(i % 3),
      (i: number) => `key-${i}-0123456789abcdef`,
      () => `${crypto.randomUUID()}:retry`,
      (i: number) => `tenant-42/checkout/${i}/attempt`,
    ]) {
      const ix = new KeyIndex<number>()
      for (let i = 0; i < 160_000; i++) ix.add(keyOf(i), i)
      expect(ix.size).toBe(160_000)
      // 2 500 keys a table on average; at most half a table's slots are used, so a table of
      // 8 192 slots holds up to 4 096 keys and one of 4 096 slots more than 1 024.
      const slots = ix.tableSlots()
      expect(slots).toHaveLength(64)
      expect(Math.max(...slots)).toBe(8192)
      expect(Math.min(...slots)).toBe(8192)
    }
  })
})
