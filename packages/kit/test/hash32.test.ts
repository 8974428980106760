// hash32: the gateway's rendezvous scores depend on its exact values (gateways
// of two versions during a rolling upgrade must pick the same home for a
// counter), so they are pinned; and it must spread keys that differ only at
// one end, as the key ledger's index relies on.
import { describe, expect, it } from 'vitest'
import { hash32 } from '../src/hash32.js'

describe('hash32', () => {
  it('gives the values the gateway has always scored with', () => {
    // Taken from the gateway's own hash32 before it moved here.
    expect(hash32('')).toBe(2872998923)
    expect(hash32('a')).toBe(444641715)
    expect(hash32('user:42\nnode-1')).toBe(1578862386)
    expect(hash32('é✓')).toBe(2326392780)
  })

  it('spreads strings that differ only in their last character over the top and the low bits', () => {
    const top = new Set<number>()
    const low = new Set<number>()
    for (let i = 0; i < 4096; i++) {
      const h = hash32(`tenant-42/checkout/attempt-${i}`)
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true)
      top.add(h >>> 26)
      low.add(h & 63)
    }
    expect(top.size).toBe(64)
    expect(low.size).toBe(64)
  })
})
