// RecordSet: one record per application of a key, the first copy kept, a
// compensated copy marking it compensated, whatever the order.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RecordSet } from '../../src/idempotency/record-set.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'

const rec = (key: string, replica: string | undefined, seq: number, at = 100): IdempotencyRecord => ({
  key,
  name: 'c',
  op: 'increment',
  amount: 1,
  value: seq,
  at,
  ...(replica === undefined ? {} : { replica, seq, attempt: 1 }),
})

describe('RecordSet', () => {
  it('keeps one record per (key, replica, seq), the first copy, and every application of a key', () => {
    const s = new RecordSet()
    const a = rec('K', 'n1.1', 1)
    s.add(a)
    s.add({ ...a, value: 99 })
    s.add(rec('K', 'n2.1', 5))
    s.add(rec('K', 'n1.1', 2))
    s.add(rec('L', undefined, 0))
    s.add({ ...rec('L', undefined, 0), value: 7 })
    expect(s.size).toBe(4)
    const live = s.live(1000, 10_000)
    expect(live.filter((r) => r.key === 'K').map((r) => [r.replica, r.seq, r.value])).toEqual([
      ['n1.1', 1, 1],
      ['n2.1', 5, 5],
      ['n1.1', 2, 2],
    ])
    expect(live.find((r) => r.key === 'L')?.value).toBe(0)
  })

  it('a compensated copy marks the kept record compensated, before or after it, and never unmarks it', () => {
    for (const order of [0, 1]) {
      const s = new RecordSet()
      const a = rec('K', 'n1.1', 1)
      const b = rec('K', 'n2.1', 5)
      const copies = [b, { ...b, compensated: true }]
      if (order) copies.reverse()
      for (const r of [a, ...copies, b]) s.add(r)
      const live = s.live(1000, 10_000)
      expect(live).toHaveLength(2)
      expect(live.find((r) => r.replica === 'n2.1')?.compensated).toBe(true)
      expect(live.find((r) => r.replica === 'n1.1')?.compensated).toBeUndefined()
    }
  })

  it('property: live() is the held records within retention, stably sorted by at, in order or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 60 })), {
          maxLength: 80,
        }),
        fc.boolean(),
        (specs, ordered) => {
          const ats = specs.map(([, at]) => at)
          if (ordered) ats.sort((a, b) => a - b)
          const s = new RecordSet()
          const added: IdempotencyRecord[] = []
          specs.forEach(([k], i) => {
            const r = rec(`k${k}`, 'n1.1', i + 1, ats[i])
            s.add(r)
            added.push(r)
          })
          // Held by key (a key's applications together, keys in order of first sight), then a stable sort.
          const keys = [...new Set(added.map((r) => r.key))]
          const held = keys.flatMap((k) => added.filter((r) => r.key === k))
          const want = held.filter((r) => r.at > 1000 - 970).sort((a, b) => a.at - b.at)
          expect(s.live(1000, 970)).toEqual(want)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('live() drops records outside retention and sorts the rest oldest first', () => {
    const s = new RecordSet()
    s.add(rec('A', 'n1.1', 1, 900))
    s.add(rec('B', 'n1.1', 2, 500))
    s.add(rec('C', 'n1.1', 3, 10))
    s.add(rec('A', 'n2.1', 1, 700))
    expect(s.live(1000, 600).map((r) => r.at)).toEqual([500, 700, 900])
  })
})
