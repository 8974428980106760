import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  formatDigest,
  hashBytesPairInto,
  hashPair,
  hashPairInto,
  hashString,
  mixInto,
  mixNumber,
} from '../src/hash.js'

const u32 = (x: number) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff

describe('hash', () => {
  it('hashString is deterministic, 2×32-bit, and distinguishes near strings', () => {
    const inputs = ['', 'a', 'b', 'ab', 'ba', 'a\u0000b', 'ab\u0000', 'x'.repeat(1000), '😀']
    const seen = new Set<string>()
    for (const s of inputs) {
      const h = hashString(s)
      expect(h).toEqual(hashString(s))
      expect(u32(h.h1) && u32(h.h2)).toBe(true)
      seen.add(`${h.h1}/${h.h2}`)
    }
    expect(seen.size).toBe(inputs.length)
  })

  it('mixNumber distinguishes values across the whole safe range, both 32-bit halves', () => {
    const base = hashString('k')
    const xs = [0, 1, 2, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52, Number.MAX_SAFE_INTEGER]
    const seen = new Set(xs.map((x) => JSON.stringify(mixNumber(base, x))))
    expect(seen.size).toBe(xs.length)
    for (const x of xs) {
      const h = mixNumber(base, x)
      expect(u32(h.h1) && u32(h.h2)).toBe(true)
    }
    // Order of mixing matters (p then n is not n then p).
    expect(mixNumber(mixNumber(base, 1), 2)).not.toEqual(mixNumber(mixNumber(base, 2), 1))
  })

  it('has no collisions over 100k sequential keys (64-bit lanes)', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 100_000; i++) {
      const h = mixNumber(hashString(`c-${i}\u0000r`), i)
      seen.add(`${h.h1}:${h.h2}`)
    }
    expect(seen.size).toBe(100_000)
  })

  it.each([
    [0, { h1: 0, h2: 0 }, '0:0000000000000000'],
    [3, { h1: 0xabc, h2: 0xffffffff }, '3:00000abcffffffff'],
    [100000, { h1: 0xdeadbeef, h2: 1 }, '100000:deadbeef00000001'],
  ])('formatDigest(%s, %j) → %s', (count, acc, text) => {
    expect(formatDigest(count, acc)).toBe(text)
  })
})

describe('hashPair', () => {
  it('equals hashString of the two strings joined by a NUL', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(hashPair(a, b)).toEqual(hashString(`${a}\u0000${b}`))
      }),
    )
  })
})

describe('allocation-free variants', () => {
  it('hashPairInto and mixInto give the same lanes as hashPair and mixNumber', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), fc.maxSafeNat(), (a, b, x, y) => {
        const out = { h1: 0, h2: 0 }
        hashPairInto(a, b, out)
        expect(out).toEqual(hashPair(a, b))
        mixInto(out, x)
        mixInto(out, y)
        expect(out).toEqual(mixNumber(mixNumber(hashPair(a, b), x), y))
      }),
    )
  })

  it('hashBytesPairInto of a name held as bytes equals hashPair of the name as a string', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
        fc.string(),
        fc.nat(64),
        (name, replica, pad) => {
          const page = new Uint8Array(pad + name.length + 3)
          for (let i = 0; i < name.length; i++) page[pad + i] = name.charCodeAt(i)
          const out = { h1: 0, h2: 0 }
          hashBytesPairInto(page, pad, name.length, replica, out)
          expect(out).toEqual(hashPair(name, replica))
        },
      ),
    )
  })
})
