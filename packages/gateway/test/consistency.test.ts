import { CounterMap } from '@tally/crdt'
import { isConsistency } from '@tally/kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classify, errorOf, mergeStates } from '../src/consistency.js'

// requiredReplicas (the quorum rule) is @tally/kit's: its table is in packages/kit/test/rules.test.ts.

describe('classify', () => {
  const err = (code: string) => ({ error: { code, message: 'm' } })
  it.each([
    [200, { name: 'a', value: 1 }, 'ok'],
    [200, undefined, 'retry'],
    [200, [1], 'retry'],
    [200, 'text', 'retry'],
    [400, err('TALLY_AMOUNT_INVALID'), 'relay'],
    [409, err('TALLY_IDEMPOTENCY_MISMATCH'), 'relay'],
    [404, undefined, 'relay'],
    [500, err('TALLY_INTERNAL'), 'retry'],
    [503, err('TALLY_SHUTTING_DOWN'), 'retry'],
    [504, err('TALLY_QUORUM_TIMEOUT'), 'relay'],
    [504, undefined, 'retry'],
    [502, err('TALLY_QUORUM_TIMEOUT'), 'retry'],
    [503, err('TALLY_QUORUM_UNAVAILABLE'), 'relay'],
    [504, err('TALLY_QUORUM_UNAVAILABLE'), 'retry'],
  ] as const)('HTTP %d %j → %s', (status, json, want) => {
    expect(classify(status, json)).toBe(want)
  })

  it('errorOf reads only the error shape', () => {
    expect(errorOf({ error: { code: 'X', message: 'y' } })).toEqual({ code: 'X', message: 'y' })
    expect(errorOf({ error: { code: 'X' } })).toEqual({ code: 'X', message: 'X' })
    expect(errorOf({ error: 'X' })).toBeUndefined()
    expect(errorOf(null)).toBeUndefined()
    expect(errorOf({ error: { code: 5 } })).toBeUndefined()
  })

  it('isConsistency', () => {
    expect(['one', 'quorum', 'all'].every(isConsistency)).toBe(true)
    expect([undefined, 'ONE', '', ['one'], 1].some(isConsistency)).toBe(false)
  })
})

describe('mergeStates', () => {
  it('merges replica states by per-entry max: every write any replica holds counts once', () => {
    const a = new CounterMap('a')
    const b = new CounterMap('b')
    a.increment('x', 3)
    b.increment('x', 4)
    b.merge(a.state())
    a.increment('x', 1) // a ahead of what b holds of a
    const m = mergeStates([a.state(['x']), b.state(['x']), b.state(['x'])])
    expect(m.value('x')).toBe(8)
  })

  it('throws TALLY_STATE_INVALID on garbage', () => {
    expect(() => mergeStates([{ nope: 1 }])).toThrow(expect.objectContaining({ code: 'TALLY_STATE_INVALID' }))
  })

  it('is order-independent (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 5 }), {
          minLength: 1,
          maxLength: 5,
        }),
        (ops) => {
          const states = ops.map((amounts, i) => {
            const m = new CounterMap(`r${i}`)
            for (const x of amounts) m.increment('c', x)
            return m.state(['c'])
          })
          const fwd = mergeStates(states).value('c')
          const rev = mergeStates([...states].reverse()).value('c')
          return fwd === rev && fwd === ops.flat().reduce((s, x) => s + x, 0)
        },
      ),
    )
  })
})
