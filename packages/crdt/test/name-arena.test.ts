// NameArena: names as bytes in pages, read back exactly, across page ends.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NameArena } from '../src/name-arena.js'

describe('NameArena', () => {
  it('gives back every name added, by number, across many pages', () => {
    const a = new NameArena()
    const names: string[] = []
    // Long names fill a 64 KiB page in a few hundred adds: many page ends are crossed.
    for (let i = 0; i < 20_000; i++) names.push(`${'n'.repeat(i % 128)}:${i}`.slice(-128))
    for (const [i, n] of names.entries()) expect(a.add(n)).toBe(i)
    expect(a.count).toBe(names.length)
    for (let i = 0; i < names.length; i += 97) {
      expect(a.name(i)).toBe(names[i])
      expect(a.lengthOf(i)).toBe(names[i]?.length)
      expect(a.equals(i, names[i] as string)).toBe(true)
      expect(a.equals(i, `${names[i]}x`)).toBe(false)
      expect(a.equals(i, `x${(names[i] as string).slice(1)}`)).toBe(false)
    }
  })

  it('round-trips any valid counter name', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[\x21-\x7e]{1,128}$/), { maxLength: 50 }), (names) => {
        const a = new NameArena()
        for (const n of names) a.add(n)
        expect(names.map((_, i) => a.name(i))).toEqual(names)
      }),
    )
  })

  it('refuses an empty, too long or multi-byte name and then holds nothing new', () => {
    const a = new NameArena()
    a.add('ok')
    expect(() => a.add('')).toThrow(RangeError)
    expect(() => a.add('x'.repeat(256))).toThrow(RangeError)
    expect(() => a.add('ü😀')).toThrow(RangeError)
    expect(a.count).toBe(1)
    expect(a.add('next')).toBe(1)
    expect(a.name(1)).toBe('next')
  })
})
