import { describe, expect, it } from 'vitest'
import {
  MAX_TENANT_LENGTH,
  readAmount,
  readConsistency,
  readIdempotencyKey,
  readName,
  tenantCounter,
} from '../src/validate.js'

const code = (f: () => unknown) => {
  try {
    f()
    return 'ok'
  } catch (err) {
    return (err as { code: string }).code
  }
}

describe('validate', () => {
  it('readAmount', () => {
    expect(readAmount(undefined, 'amount')).toBe(1)
    expect(readAmount(Number.MAX_SAFE_INTEGER, 'amount')).toBe(Number.MAX_SAFE_INTEGER)
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, true, [1]]) {
      expect(code(() => readAmount(bad, 'count'))).toBe('TALLY_AMOUNT_INVALID')
    }
  })

  it('readName follows @tally/crdt', () => {
    expect(readName('a.b:c-d_e')).toBe('a.b:c-d_e')
    for (const bad of ['', 'a b', '__proto__', 'x'.repeat(129), 5])
      expect(code(() => readName(bad))).toBe('TALLY_NAME_INVALID')
  })

  it('tenantCounter maps t → items:t and keeps the name within 128 characters', () => {
    expect(MAX_TENANT_LENGTH).toBe(122)
    expect(tenantCounter('t1')).toBe('items:t1')
    expect(tenantCounter('x'.repeat(122))).toHaveLength(128)
    for (const bad of ['', 'x'.repeat(123), 'a b', 1, undefined, '__proto__', 'constructor', 'prototype']) {
      expect(code(() => tenantCounter(bad))).toBe('TALLY_TENANT_INVALID')
    }
  })

  it('readIdempotencyKey refuses a key sent twice (Node joins the copies with ", ")', () => {
    expect(readIdempotencyKey('k-a, k-b')).toBe('k-a, k-b')
    expect(
      code(() => readIdempotencyKey('k-a, k-b', ['Idempotency-Key', 'k-a', 'idempotency-key', 'k-b'])),
    ).toBe('TALLY_IDEMPOTENCY_KEY_INVALID')
    expect(code(() => readIdempotencyKey(['k-a', 'k-b']))).toBe('TALLY_IDEMPOTENCY_KEY_INVALID')
    expect(readIdempotencyKey('k', ['Idempotency-Key', 'k', 'Host', 'x'])).toBe('k')
  })

  it('readIdempotencyKey', () => {
    expect(readIdempotencyKey(undefined)).toBeUndefined()
    expect(readIdempotencyKey('a b~')).toBe('a b~')
    expect(readIdempotencyKey('k'.repeat(128))).toHaveLength(128)
    for (const bad of ['', ' a', 'k'.repeat(129), 'a\nb', 'é', ['a', 'b']]) {
      expect(code(() => readIdempotencyKey(bad as string))).toBe('TALLY_IDEMPOTENCY_KEY_INVALID')
    }
  })

  it('readConsistency', () => {
    expect(readConsistency(undefined)).toBeUndefined()
    expect(readConsistency('quorum')).toBe('quorum')
    for (const bad of ['', 'QUORUM', ['one'], 2])
      expect(code(() => readConsistency(bad))).toBe('TALLY_CONSISTENCY_INVALID')
  })
})
