import { IDEMPOTENCY_KEY_PATTERN as IDEMPOTENCY_KEY } from '@tally/kit'
import { describe, expect, it } from 'vitest'
import { IdempotencyTable } from '../../src/idempotency/idempotency.js'

const rec = (key: string, at: number) => ({
  key,
  name: 'c',
  op: 'increment' as const,
  amount: 1,
  value: 1,
  at,
})
const shape = { name: 'c', op: 'increment' as const, amount: 1 }

describe('IdempotencyTable', () => {
  it('answers done / mismatch / new', () => {
    const t = new IdempotencyTable({ ttlMs: 1000, maxKeys: 10, now: () => 100 })
    t.remember(rec('k', 100))
    expect(t.check('k', shape)).toMatchObject({ kind: 'done' })
    expect(t.check('k', { ...shape, amount: 2 })).toMatchObject({ kind: 'mismatch' })
    expect(t.check('other', shape)).toEqual({ kind: 'new' })
  })

  it('tracks in-flight requests until they settle', async () => {
    const t = new IdempotencyTable({ ttlMs: 1000, maxKeys: 10 })
    let finish!: () => void
    const work = new Promise<void>((r) => {
      finish = r
    })
    t.track('k', shape, work)
    const c = t.check('k', shape)
    expect(c.kind).toBe('inflight')
    expect(t.check('k', { ...shape, op: 'decrement' }).kind).toBe('mismatch')
    finish()
    if (c.kind === 'inflight') await c.wait
    await Promise.resolve()
    expect(t.check('k', shape).kind).toBe('new')
  })

  it('expires by age and evicts the oldest beyond maxKeys', () => {
    let now = 0
    const t = new IdempotencyTable({ ttlMs: 1000, maxKeys: 2, now: () => now })
    t.load([rec('b', 10), rec('a', 5)])
    t.remember(rec('c', 20))
    expect(t.records().map((r) => r.key)).toEqual(['b', 'c'])
    now = 1015
    expect(t.records().map((r) => r.key)).toEqual(['c'])
  })

  it('a key loaded twice takes its later place and record, as remember does', () => {
    const t = new IdempotencyTable({ ttlMs: 1000, maxKeys: 2, now: () => 10 })
    t.loadSorted([rec('a', 1), rec('b', 2), { ...rec('a', 3), value: 7 }])
    expect(t.records().map((r) => [r.key, r.value])).toEqual([
      ['b', 1],
      ['a', 7],
    ])
    // The oldest goes first past the cap: b, not the reloaded a.
    t.remember(rec('c', 4))
    expect(t.records().map((r) => r.key)).toEqual(['a', 'c'])
  })

  it('a key whose record outlived its TTL is new again, also when younger records were remembered before it', () => {
    let now = 0
    const t = new IdempotencyTable({ ttlMs: 1000, maxKeys: 10, now: () => now })
    const shape = { name: 'c', op: 'increment' as const, amount: 1 }
    // Acknowledged out of order: `late` applied at 5 but made durable after `early` (at 10).
    t.remember(rec('early', 10))
    t.remember(rec('late', 5))
    now = 1008
    expect(t.check('late', shape).kind).toBe('new')
    expect(t.check('early', shape).kind).toBe('done')
    now = 1010
    expect(t.check('early', shape).kind).toBe('new')
  })

  it('key rule: 1-128 printable ASCII', () => {
    expect(IDEMPOTENCY_KEY.test('abc-123_:/=')).toBe(true)
    expect(IDEMPOTENCY_KEY.test('x'.repeat(128))).toBe(true)
    expect(IDEMPOTENCY_KEY.test('x'.repeat(129))).toBe(false)
    expect(IDEMPOTENCY_KEY.test('')).toBe(false)
    expect(IDEMPOTENCY_KEY.test('é')).toBe(false)
    expect(IDEMPOTENCY_KEY.test('a\nb')).toBe(false)
  })
})
