import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isConsistency, isHeaderRepeated, isIdempotencyKey, requiredReplicas } from '../src/rules.js'

describe('requiredReplicas', () => {
  it.each([
    ['one', 0, 1],
    ['quorum', 0, 1],
    ['all', 0, 1],
    ['one', 5, 1],
    ['quorum', 1, 1],
    ['quorum', 2, 2],
    ['quorum', 3, 2],
    ['quorum', 4, 3],
    ['quorum', 5, 3],
    ['all', 1, 1],
    ['all', 5, 5],
    ['all', 7, 7],
  ] as const)('%s of %d members needs %d', (level, n, want) => {
    expect(requiredReplicas(level, n)).toBe(want)
  })

  it('quorum reads overlap quorum writes for every cluster size', () => {
    for (let n = 1; n <= 50; n++) expect(2 * requiredReplicas('quorum', n)).toBeGreaterThan(n)
  })

  it('two quorums of the same n always overlap (R + W > N)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (n) => 2 * requiredReplicas('quorum', n) > n))
  })
})

describe('isIdempotencyKey', () => {
  it.each(['a', 'k-1', 'x'.repeat(128), 'a b', '~!@#$%^&*()'])('accepts %j', (k) => {
    expect(isIdempotencyKey(k)).toBe(true)
  })
  it.each(['', ' a', 'x'.repeat(129), 'a\tb', 'é', 'a\nb', 42, undefined, ['a']])('refuses %j', (k) => {
    expect(isIdempotencyKey(k)).toBe(false)
  })
})

describe('isConsistency', () => {
  it('knows exactly one, quorum and all', () => {
    expect(['one', 'quorum', 'all'].every(isConsistency)).toBe(true)
    expect(['', 'ONE', 'two', 1, null].some(isConsistency)).toBe(false)
  })
})

describe('isHeaderRepeated', () => {
  it.each([
    [[], false],
    [['Host', 'a', 'Idempotency-Key', 'k'], false],
    [['Idempotency-Key', 'k', 'IDEMPOTENCY-KEY', 'k'], true],
    [['idempotency-key', 'k', 'Host', 'h', 'Idempotency-Key', 'j'], true],
    // A value equal to the name is a value, not a second header.
    [['X', 'idempotency-key', 'Idempotency-Key', 'k'], false],
  ])('%j → %s', (raw, repeated) => {
    expect(isHeaderRepeated(raw, 'idempotency-key')).toBe(repeated)
  })
})
