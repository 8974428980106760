import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NameTable } from '../../src/storage/name-table.js'

const enc = (s: string) => new TextEncoder().encode(s)

describe('NameTable', () => {
  it('numbers names in the order added and finds each by string or by bytes, past many growths', () => {
    const t = new NameTable()
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const name = `counter-${i}`
      expect(i % 2 === 0 ? t.add(name) : t.addBytes(enc(`..${name}`), 2, name.length)).toBe(i)
    }
    expect(t.size).toBe(n)
    for (let i = 0; i < n; i += 997) {
      const name = `counter-${i}`
      expect(t.find(name)).toBe(i)
      const b = enc(`:${name}:`)
      expect(t.findBytes(b, 1, name.length)).toBe(i)
      expect(t.name(i)).toBe(name)
      expect(t.length(i)).toBe(name.length)
    }
    expect(t.find('counter-x')).toBe(-1)
    expect(t.findBytes(enc('counter-1'), 0, 8)).toBe(-1) // a prefix of a name is another name
  })

  it('repoint: the name finds its new number, the old number keeps its bytes', () => {
    const t = new NameTable()
    t.add('a')
    t.add('b')
    expect(t.repoint(0)).toBe(2)
    expect(t.find('a')).toBe(2)
    expect(t.name(0)).toBe('a')
    expect(t.name(2)).toBe('a')
    expect(t.find('b')).toBe(1)
  })

  it('agrees with a Map for any valid names', () => {
    const name = fc.stringMatching(/^[\x21-\x7e]{1,12}$/)
    fc.assert(
      fc.property(fc.array(name, { maxLength: 200 }), (names) => {
        const t = new NameTable()
        const ref = new Map<string, number>()
        for (const x of names) {
          if (!ref.has(x)) ref.set(x, t.add(x))
          expect(t.find(x)).toBe(ref.get(x))
        }
        for (const [x, c] of ref) expect(t.findBytes(enc(x), 0, x.length)).toBe(c)
      }),
    )
  })

  it('internBytes finds or adds, as find then add would', () => {
    const big = new NameTable()
    for (let i = 0; i < 5000; i++)
      expect([big.internBytes(enc(`n${i}`), 0, `n${i}`.length), big.added]).toEqual([i, true])
    for (let i = 0; i < 5000; i += 7)
      expect([big.internBytes(enc(`n${i}`), 0, `n${i}`.length), big.added]).toEqual([i, false])
    expect(big.find('n4999')).toBe(4999)
    const name = fc.stringMatching(/^[\x21-\x7e]{1,6}$/)
    fc.assert(
      fc.property(fc.array(name, { maxLength: 3000 }), (names) => {
        const t = new NameTable()
        const ref = new Map<string, number>()
        for (const x of names) {
          const c = t.internBytes(enc(`-${x}`), 1, x.length)
          expect(t.added).toBe(!ref.has(x))
          if (!ref.has(x)) ref.set(x, ref.size)
          expect(c).toBe(ref.get(x))
        }
        for (const [x, c] of ref) expect(t.find(x)).toBe(c)
      }),
    )
  })
})
