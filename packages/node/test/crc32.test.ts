import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32 } from '../src/crc32.js'

const enc = (s: string) => new TextEncoder().encode(s)

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(enc('123456789'))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array())).toBe(0)
    expect(crc32(enc('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339)
  })

  it('matches zlib on random input', async () => {
    const { crc32: zlibCrc } = await import('node:zlib')
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(crc32(b)).toBe(zlibCrc(b))
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
