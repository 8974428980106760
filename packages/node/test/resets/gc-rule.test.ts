// The pure part of garbage collection (resets/gc-rule.ts): which counters are
// covered here, when the summary covers their entries, and how confirmations
// from members make a candidate ready.
import { describe, expect, it } from 'vitest'
import {
  COVERED_KEY,
  confirms,
  coveredKey,
  GcAcks,
  type GcView,
  NOT_HELD,
  summaryCovers,
} from '../../src/resets/gc-rule.js'
import { encodeMarksRecord, MarksFold, readMarksRecord } from '../../src/resets/marks-record.js'
import { readMessage } from '../../src/wire/messages.js'

const ttl = (at: number | null, stamp = 1) => ({ at, setBy: 'a', stamp })
const view = (o: Partial<GcView>): GcView => ({
  totals: { p: { a: 5 }, n: { b: 2 } },
  seqs: { a: 3, b: 9 },
  mark: { p: { a: 5 }, n: { b: 2 } },
  ttl: undefined,
  applied: undefined,
  ...o,
})

describe('coveredKey', () => {
  it('is a key exactly when every total equals its mark and the TTL is settled', () => {
    const table: Array<[string, Partial<GcView>, boolean]> = [
      ['covered', {}, true],
      ['a total beyond its mark', { totals: { p: { a: 6 }, n: { b: 2 } } }, false],
      ['a total with no mark', { mark: { p: { a: 5 }, n: {} } }, false],
      ['a mark above its total (totals still to come)', { mark: { p: { a: 7 }, n: { b: 2 } } }, false],
      ['a mark and no totals at all (mark only)', { totals: { p: {}, n: {} } }, true],
      ['an expiry not applied yet', { ttl: ttl(1_000) }, false],
      ['an expiry applied here', { ttl: ttl(1_000), applied: ttl(1_000) }, true],
      ['a newer expiry than the one applied', { ttl: ttl(2_000, 2), applied: ttl(1_000) }, false],
      ['PERSIST', { ttl: ttl(null) }, true],
    ]
    for (const [what, o, want] of table) expect([what, coveredKey(view(o)) !== null]).toEqual([what, want])
    const k = coveredKey(view({})) as string
    expect(k).toMatch(COVERED_KEY)
    // The same covered totals give the same key wherever they are held; other totals another.
    expect(coveredKey(view({ seqs: {} }))).toBe(k)
    expect(coveredKey(view({ totals: { p: {}, n: {} } }))).toBe(k) // a bare mark confirms the holders of its totals
    expect(
      coveredKey(view({ totals: { p: { a: 6 }, n: { b: 2 } }, mark: { p: { a: 6 }, n: { b: 2 } } })),
    ).not.toBe(k)
  })

  it('summaryCovers: every entry seq at or below the summary', () => {
    expect(summaryCovers({ a: 3, b: 9 }, { a: 3, b: 10 })).toBe(true)
    expect(summaryCovers({ a: 3, b: 9 }, { a: 2, b: 10 })).toBe(false)
    expect(summaryCovers({ a: 1 }, {})).toBe(false)
    expect(summaryCovers({}, {})).toBe(true)
  })
})

describe('GcAcks', () => {
  it('a candidate is ready once every member confirmed it, from the first time they all had', () => {
    const g = new GcAcks()
    g.consider('x', 'k1')
    expect(g.readySince('x', ['m1', 'm2'], 100)).toBeUndefined()
    expect(g.missing('m1')).toEqual(['x'])
    g.ack('m1', 'x', 'k1')
    g.ack('m2', 'x', 'other') // another member's totals: not a confirmation
    expect(g.readySince('x', ['m1', 'm2'], 110)).toBeUndefined()
    g.ack('m2', 'x', NOT_HELD) // holds nothing of it: confirms
    expect(g.readySince('x', ['m1', 'm2'], 120)).toBe(120)
    expect(g.readySince('x', ['m1', 'm2'], 500)).toBe(120)
    // A member learnt since has not confirmed: not ready any more, and the time starts over.
    expect(g.readySince('x', ['m1', 'm2', 'm3'], 600)).toBeUndefined()
    g.ack('m3', 'x', 'k1')
    expect(g.readySince('x', ['m1', 'm2', 'm3'], 700)).toBe(700)
    // New totals: old confirmations do not count.
    g.consider('x', 'k2')
    expect(g.readySince('x', ['m1', 'm2', 'm3'], 800)).toBeUndefined()
    // With no other member, ready at once (a single node).
    g.consider('y', 'k')
    expect(g.readySince('y', [], 900)).toBe(900)
    g.forget('y')
    expect(g.names()).toEqual(['x'])
    g.ack('m1', 'nope', 'k') // not a candidate: ignored
    expect(g.size).toBe(1)
  })

  it('asked again: every confirmation is needed a second time', () => {
    const g = new GcAcks()
    g.consider('x', 'k')
    g.ack('m1', 'x', 'k')
    expect(g.readySince('x', ['m1'], 10)).toBe(10)
    expect(g.askedAgain('x')).toBe(false)
    g.askAgain('x')
    expect([g.askedAgain('x'), g.readySince('x', ['m1'], 20), g.missing('m1')]).toEqual([
      true,
      undefined,
      ['x'],
    ])
    g.ack('m1', 'x', 'k')
    expect(g.readySince('x', ['m1'], 30)).toBe(30)
    g.consider('x', 'k2') // new totals: from the first round again
    expect(g.askedAgain('x')).toBe(false)
  })

  it('a bare mark is ready only once every member holds nothing of the counter', () => {
    const g = new GcAcks()
    g.consider('x', 'k', true)
    g.ack('m1', 'x', 'k')
    expect(g.readySince('x', ['m1'], 1)).toBeUndefined()
    g.ack('m1', 'x', NOT_HELD)
    expect(g.readySince('x', ['m1'], 2)).toBe(2)
    expect(confirms('k', undefined)).toBe(false)
  })
})

describe('wire and log forms', () => {
  it('MARKS g and k are read when well formed and refused otherwise', () => {
    expect(
      readMessage({
        t: 8,
        f: 'n1',
        g: ['x', 'y'],
        k: [
          ['x', NOT_HELD],
          ['y', '0123456789abcdef'],
        ],
      }),
    ).toEqual({
      t: 8,
      f: 'n1',
      g: ['x', 'y'],
      k: [
        ['x', NOT_HELD],
        ['y', '0123456789abcdef'],
      ],
    })
    for (const bad of [
      { g: 'x' },
      { g: [''] },
      { g: Array.from({ length: 2001 }, (_, i) => `c${i}`) },
      { k: [['x']] },
      { k: [['x', 'NOTHEX0123456789']] },
      { k: [['', NOT_HELD]] },
      { k: {} },
    ])
      expect([bad, readMessage({ t: 8, f: 'n1', ...bad })]).toEqual([bad, null])
  })

  it('a logged drop and floor read back; folding forgets what was logged of a name before its drop', () => {
    const rec = { tuples: [], applied: [], keys: [], dropped: ['x'], floor: 9 }
    expect(readMarksRecord(encodeMarksRecord(rec))).toEqual(rec)
    expect(encodeMarksRecord({ tuples: [], applied: [], keys: [] })).toEqual({ t: [], a: [], k: [] })
    for (const bad of [{ d: 'x' }, { d: [''] }, { f: -1 }, { f: 1.5 }])
      expect(readMarksRecord({ t: [], ...bad })).toBeNull()
    const fold = new MarksFold()
    fold.add({ tuples: [['x', { a: 3 }, {}, 0]], applied: [], keys: [], floor: 4 })
    fold.add(rec)
    fold.add({ tuples: [['y', { a: 1 }, {}, 0]], applied: [], keys: [], floor: 2 })
    const out = fold.record()
    expect(out.tuples.map((t) => t[0])).toEqual(['y'])
    expect(out.floor).toBe(9)
    expect([...fold.dropped]).toEqual(['x'])
  })
})
