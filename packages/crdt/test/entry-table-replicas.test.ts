import { describe, expect, it } from 'vitest'
import { CounterMap } from '../src/counter-map.js'
import { END, EntryTable } from '../src/entry-table.js'

describe('EntryTable replica numbers past 255', () => {
  it('promotes only the page of an entry whose replica number passes 255 and keeps every entry’s replica', () => {
    const t = new EntryTable()
    for (let r = 0; r < 300; r++) t.replicaFor(`r${r}`)
    // 9 000 counters with one entry each (replica i % 256: narrow), spanning two pages of 8 192 rows.
    const rows: number[] = []
    for (let i = 0; i < 9_000; i++) rows.push(t.add(t.addCounter(`c${i}`), i % 256))
    expect(t.wideReplicaPages).toBe(0)
    // Replica 299 in counter 8 500 (row 8 500: the second page).
    const c = t.counter('c8500') as number
    const wide = t.add(c, 299)
    expect(t.wideReplicaPages).toBe(1)
    expect(t.rep(wide)).toBe(299)
    expect(t.find(c, 299)).toBe(wide)
    expect(t.find(c, 8_500 % 256)).toBe(rows[8_500])
    // A second number past 255 in the same page: no second promotion.
    t.add(t.counter('c8501') as number, 256)
    expect(t.wideReplicaPages).toBe(1)
    for (let i = 0; i < 9_000; i++) expect(t.rep(rows[i] as number)).toBe(i % 256)
    expect(t.find(t.counter('c1') as number, 299)).toBe(END)
  })
})

describe('CounterMap with more than 255 replicas', () => {
  it('keeps every replica’s entry of a counter, and its state, digest and deltas, exactly', () => {
    const a = new CounterMap('a')
    const entries: Array<[string, string, number, number, number]> = []
    for (let r = 0; r < 400; r++) {
      entries.push([`n${r % 7}`, `replica-${r}`, r + 1, r % 3, r + 10])
      entries.push(['shared', `replica-${r}`, 1, 0, r + 10])
    }
    a.applyDelta({ ranges: [], entries })
    expect(a.replicas()).toHaveLength(400)
    expect(a.value('shared')).toBe(400)
    expect(a.counterState('shared').p['replica-399']).toBe(1)
    // 399 = 57 × 7: replica 399 wrote n0, not n1.
    expect(a.counterState('n1').p['replica-399']).toBeUndefined()
    expect(a.counterState('n0').p['replica-399']).toBe(400)
    expect(a.counterState('n1').p['replica-393']).toBe(394)
    const b = CounterMap.fromState('b', JSON.parse(JSON.stringify(a.state())))
    expect(b.digest()).toBe(a.digest())
    expect(b.state()).toEqual(a.state())
    expect(a.deltaSince({}).entries).toHaveLength(800)
  })
})
