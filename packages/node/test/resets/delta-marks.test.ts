import type { Delta } from '@tally/crdt'
import { describe, expect, it } from 'vitest'
import { CounterMarks } from '../../src/resets/counter-marks.js'
import { markChunks, marksAhead } from '../../src/resets/delta-marks.js'
import { MAX_MARK_TUPLES, type MarkTuple } from '../../src/resets/mark-tuple.js'
import { UnwrittenMarks } from '../../src/resets/unwritten-marks.js'

const delta = (...names: string[]): Delta => ({
  ranges: [],
  entries: names.map((n, i) => [n, 'r.1', 1, 0, i + 1]),
})

describe('marksAhead', () => {
  const marks = new CounterMarks()
  marks.merge([
    ['deleted', { 'r.1': 3 }, {}, 0],
    ['both', { 'r.1': 2 }, { 'r.2': 1 }, [1_000, 'r.1', 7]],
    ['ttl-only', {}, {}, [5_000, 'r.1', 8]],
  ])

  it('leads with the mark of each marked counter the delta carries, once, TTL left out', () => {
    expect(marksAhead(delta('plain', 'deleted', 'both', 'deleted'), marks, () => false)).toEqual([
      ['deleted', { 'r.1': 3 }, {}, 0],
      ['both', { 'r.1': 2 }, { 'r.2': 1 }, 0],
    ])
  })

  it('sends nothing for counters without a mark, a TTL alone, or a mark change not yet written', () => {
    expect(marksAhead(delta('plain', 'ttl-only'), marks, () => false)).toEqual([])
    const unwritten = new UnwrittenMarks()
    unwritten.add(['deleted'])
    expect(marksAhead(delta('deleted', 'both'), marks, (n) => unwritten.has(n)).map((t) => t[0])).toEqual([
      'both',
    ])
    unwritten.written(['deleted'])
    expect(marksAhead(delta('deleted'), marks, (n) => unwritten.has(n))).toHaveLength(1)
    expect(marksAhead(delta('deleted'), new CounterMarks(), () => true)).toEqual([])
  })

  it('groups tuples into MARKS-sized chunks', () => {
    const tuples: MarkTuple[] = Array.from({ length: MAX_MARK_TUPLES + 1 }, (_, i) => [
      `c${i}`,
      { 'r.1': 1 },
      {},
      0,
    ])
    expect(markChunks(tuples).map((c) => c.length)).toEqual([MAX_MARK_TUPLES, 1])
    expect(markChunks([])).toEqual([])
  })
})

describe('UnwrittenMarks', () => {
  it('counts changes in flight per counter', () => {
    const u = new UnwrittenMarks()
    u.add(['a', 'a', 'b'])
    u.written(['a'])
    expect([u.has('a'), u.has('b'), u.size]).toEqual([true, true, 2])
    u.written(['a', 'b'])
    expect([u.has('a'), u.has('b'), u.size]).toEqual([false, false, 0])
  })
})
