// foldBatch answers every op exactly as the map would one by one, in order.
import { CounterMap, type Delta } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BatchOp, type BatchOutcome, foldBatch } from '../../src/batch/fold-batch.js'

const MAX = Number.MAX_SAFE_INTEGER

/** What the ops answer applied one by one (the reference). */
function oneByOne(map: CounterMap, ops: readonly BatchOp[]): BatchOutcome[] {
  return ops.map((o) => {
    try {
      return o.op === 'increment' ? map.increment(o.name, o.amount) : map.decrement(o.name, o.amount)
    } catch (err) {
      return err as Error
    }
  })
}

const codeOf = (x: BatchOutcome): number | string =>
  typeof x === 'number' ? x : (x as Error & { code: string }).code

const inc = (name: string, amount = 1): BatchOp => ({ name, op: 'increment', amount })
const dec = (name: string, amount = 1): BatchOp => ({ name, op: 'decrement', amount })

describe('foldBatch', () => {
  it('INCR k ×3 answers 1, 2, 3 with one map operation', () => {
    const m = new CounterMap('r1')
    expect(foldBatch(m, [inc('k'), inc('k'), inc('k')])).toEqual([1, 2, 3])
    expect(m.value('k')).toBe(3)
    expect(m.seq).toBe(1)
  })

  it('interleaved counters, mixed directions and refusals answer in order, each for itself', () => {
    const m = new CounterMap('r1')
    m.increment('b', 10)
    const ops = [inc('a', 2), dec('b', 3), inc('a', 5), inc('bad name'), inc('b', 1), inc('a', 0), dec('a')]
    const got = foldBatch(m, ops).map(codeOf)
    expect(got).toEqual([2, 7, 7, 'TALLY_NAME_INVALID', 8, 'TALLY_AMOUNT_INVALID', 6])
    expect(m.value('a')).toBe(6)
    expect(m.value('b')).toBe(8)
  })

  it('an overflowing op is refused alone; the ops before and after it still count', () => {
    const m = new CounterMap('r1')
    m.increment('k', MAX - 10)
    const got = foldBatch(m, [inc('k', 5), inc('k', 100), inc('k', 5)]).map(codeOf)
    expect(got).toEqual([MAX - 5, 'TALLY_OVERFLOW', MAX])
    expect(m.value('k')).toBe(MAX)
  })

  it('the delta since the batch carries the folded entry', () => {
    const m = new CounterMap('r1')
    const before = m.seq
    foldBatch(m, [inc('k'), inc('k'), inc('j', 4)])
    const d: Delta = m.deltaFor('r1', before)
    const other = new CounterMap('r2')
    other.applyDelta(d)
    expect([other.value('k'), other.value('j')]).toEqual([2, 4])
  })

  it('property: same answers and same values as one by one', () => {
    const name = fc.constantFrom('a', 'b', 'c', 'x y')
    const amount = fc.oneof(
      fc.integer({ min: 1, max: 1000 }),
      fc.constantFrom(0, -1, 1.5, MAX, MAX - 1, 2 ** 52),
    )
    const op = fc.record({
      name,
      op: fc.constantFrom('increment', 'decrement'),
      amount,
    }) as fc.Arbitrary<BatchOp>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), fc.array(op, { maxLength: 30 }), (setup, ops) => {
        const a = new CounterMap('r1')
        const b = new CounterMap('r1')
        oneByOne(a, setup)
        oneByOne(b, setup)
        const folded = foldBatch(a, ops).map(codeOf)
        const reference = oneByOne(b, ops).map(codeOf)
        expect(folded).toEqual(reference)
        for (const n of ['a', 'b', 'c']) expect(a.bigValue(n)).toBe(b.bigValue(n))
      }),
      { numRuns: 500 },
    )
  })
})
