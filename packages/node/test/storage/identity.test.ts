import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decideIdentity,
  ForeignDataDirError,
  type IdentityInput,
  newIncarnation,
} from '../../src/storage/identity.js'

const stored = { nodeId: 'n1', incarnation: 1000, createdAt: 1 }
const base: IdentityInput = {
  nodeId: 'n1',
  stored,
  marker: null,
  bootId: 'boot-A',
  cutRecords: false,
  now: 1_700_000_000_000,
  random: 0.5,
}
const marker = (bootId: string | null) => ({ pid: 1, bootId, durability: 'async' as const, at: 0 })

describe('newIncarnation', () => {
  it('is a positive safe integer that grows with time and exceeds the previous one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.nat(),
        (now, r, prev) => {
          const n = newIncarnation(now, r, prev)
          expect(Number.isSafeInteger(n)).toBe(true)
          expect(n).toBeGreaterThan(prev)
          expect(n).toBeGreaterThan(newIncarnation(now - 1, 0.999999) - 1)
        },
      ),
    )
  })

  it('keeps two starts in the same millisecond apart unless the random bits collide', () => {
    expect(newIncarnation(5, 0.1)).not.toBe(newIncarnation(5, 0.2))
  })
})

describe('decideIdentity', () => {
  it('keeps the incarnation after a clean shutdown', () => {
    expect(decideIdentity(base)).toEqual({ identity: stored, fresh: false, reason: null })
  })

  it('keeps it after a process crash on the same boot (the OS page cache survived)', () => {
    expect(decideIdentity({ ...base, marker: marker('boot-A') }).fresh).toBe(false)
  })

  it('starts a new incarnation after a crash across a reboot or with an unknown boot id', () => {
    for (const input of [
      { ...base, marker: marker('boot-B') },
      { ...base, marker: marker(null) },
      { ...base, bootId: null, marker: marker(null) },
    ]) {
      const d = decideIdentity(input)
      expect(d.fresh).toBe(true)
      expect(d.identity.incarnation).toBeGreaterThan(stored.incarnation)
      expect(d.reason).toMatch(/did not shut down cleanly/)
    }
  })

  it('starts a new incarnation when records were cut', () => {
    const d = decideIdentity({ ...base, cutRecords: true })
    expect(d.fresh).toBe(true)
    expect(d.reason).toMatch(/cut/)
  })

  it('starts a new incarnation for a fresh or wiped dir, never equal to an older one from the clock', () => {
    const d = decideIdentity({ ...base, stored: null })
    expect(d.fresh).toBe(true)
    expect(d.reason).toBeNull()
    expect(d.identity.incarnation).toBe(newIncarnation(base.now, 0.5))
    // An old incarnation created a second earlier is smaller than any created now.
    expect(newIncarnation(base.now - 1000, 0.999)).toBeLessThan(d.identity.incarnation)
  })

  it("refuses another node's data dir", () => {
    expect(() => decideIdentity({ ...base, nodeId: 'n2' })).toThrow(ForeignDataDirError)
  })
})
