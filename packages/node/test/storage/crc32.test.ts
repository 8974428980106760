import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32, crc32Js, crc32Range } from '../../src/storage/crc32.js'

const enc = (s: string) => new TextEncoder().encode(s)

describe('crc32', () => {
  it('matches the standard check values (both implementations)', () => {
    for (const f of [crc32, crc32Js]) {
      expect(f(enc('123456789'))).toBe(0xcbf43926)
      expect(f(new Uint8Array())).toBe(0)
      expect(f(enc('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339)
    }
  })

  it('matches zlib on random input', async () => {
    const { crc32: zlibCrc } = await import('node:zlib')
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(crc32Js(b)).toBe(zlibCrc(b))
        expect(crc32(b)).toBe(crc32Js(b))
        // A view into a larger buffer checksums only its own bytes.
        const big = new Uint8Array(b.length + 8)
        big.set(b, 4)
        expect(crc32(big.subarray(4, 4 + b.length))).toBe(crc32Js(b))
        // And the range form, of any part of a larger buffer.
        expect(crc32Range(big, 4, 4 + b.length)).toBe(crc32Js(b))
        for (let from = 0; from < Math.min(b.length, 9); from++)
          expect(crc32Range(b, from, b.length)).toBe(crc32Js(b.subarray(from)))
      }),
    )
  })

  it('detects every single-bit flip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(7), (b, i, bit) => {
        const flipped = b.slice()
        const at = i % b.length
        flipped[at] = flipped[at]! ^ (1 << bit)
        expect(crc32(flipped)).not.toBe(crc32(b))
      }),
    )
  })
})
