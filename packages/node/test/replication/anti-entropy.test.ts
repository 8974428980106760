import { CounterMap, type Delta } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  answerPull,
  chunkDelta,
  chunkPush,
  clipToDurable,
  isEmptyDelta,
  mergeDeltas,
} from '../../src/replication/anti-entropy.js'

// One full exchange between a (initiator) and b, as the replicator runs it.
function exchange(a: CounterMap, b: CounterMap): { messages: number } {
  const ack = answerPull(b, a.digest())
  if (!ack.s) return { messages: 2 }
  const toB = a.deltaSince(ack.s)
  b.applyDelta(toB)
  const back = b.deltaSince(a.summary())
  a.applyDelta(back)
  return { messages: 4 }
}

const op = fc.record({
  who: fc.nat(2),
  name: fc.constantFrom('a', 'b', 'c'),
  inc: fc.boolean(),
  amount: fc.integer({ min: 1, max: 1000 }),
})

describe('digest exchange', () => {
  it('equal states answer in sync without a summary', () => {
    const a = new CounterMap('a.1')
    const b = new CounterMap('b.1')
    expect(answerPull(b, a.digest())).toEqual({ d: b.digest() })
    a.increment('x')
    expect(answerPull(b, a.digest()).s).toEqual({})
  })

  it('one exchange makes two replicas equal, whatever they did before (bidirectional)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const reps = [new CounterMap('a.1'), new CounterMap('b.1'), new CounterMap('c.1')]
        for (const o of ops) {
          const r = reps[o.who]!
          if (o.inc) r.increment(o.name, o.amount)
          else r.decrement(o.name, o.amount)
        }
        const [a, b, c] = reps as [CounterMap, CounterMap, CounterMap]
        exchange(a, b)
        expect(a.digest()).toBe(b.digest())
        exchange(c, a)
        exchange(b, c)
        for (const n of ['a', 'b', 'c']) {
          expect(b.value(n)).toBe(a.value(n))
          expect(c.value(n)).toBe(a.value(n))
        }
        expect(exchange(a, b).messages).toBe(2)
      }),
    )
  })
})

describe('clipToDurable', () => {
  it('drops own entries above the durable seq and clips own ranges', () => {
    const m = new CounterMap('me.1')
    m.increment('x') // seq 1
    m.increment('y') // seq 2
    m.increment('y') // seq 3
    const d = m.deltaSince({})
    const c = clipToDurable(d, 'me.1', 1)
    expect(c.entries).toEqual([['x', 'me.1', 1, 0, 1]])
    expect(c.ranges).toEqual([['me.1', 0, 1]])
    expect(clipToDurable(d, 'me.1', 3)).toBe(d)
    expect(isEmptyDelta(clipToDurable(d, 'me.1', 0))).toBe(true)
  })

  it('keeps other replicas untouched', () => {
    const d: Delta = { ranges: [['other.1', 0, 9]], entries: [['x', 'other.1', 9, 0, 9]] }
    expect(clipToDurable(d, 'me.1', 0)).toBe(d)
  })

  it('a receiver of clipped deltas still converges once the rest is durable', () => {
    const m = new CounterMap('me.1')
    const peer = new CounterMap('p.1')
    m.increment('x')
    m.increment('x')
    peer.applyDelta(clipToDurable(m.deltaSince(peer.summary()), 'me.1', 1))
    peer.applyDelta(clipToDurable(m.deltaSince(peer.summary()), 'me.1', 2))
    expect(peer.digest()).toBe(m.digest())
  })
})

describe('mergeDeltas', () => {
  it('coalesces consecutive single-op deltas into one contiguous range', () => {
    const m = new CounterMap('r.1')
    const ds: Delta[] = []
    for (const n of ['a', 'b', 'a', 'c']) {
      m.increment(n)
      ds.push(m.deltaFor('r.1', m.seq - 1))
    }
    const merged = mergeDeltas(ds)
    expect(merged.ranges).toEqual([['r.1', 0, 4]])
    const peer = new CounterMap('p.1')
    peer.applyDelta(merged)
    expect(peer.digest()).toBe(m.digest())
    expect(peer.summary()).toEqual(m.summary())
  })
})

describe('chunkDelta', () => {
  it('parts applied in order equal the whole; ranges only on the last part', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (ops, max) => {
        const src = new CounterMap('s.1')
        const other = new CounterMap('o.1')
        for (const o of ops) (o.who === 0 ? src : other)[o.inc ? 'increment' : 'decrement'](o.name, o.amount)
        src.applyDelta(other.deltaSince({}))
        const whole = src.deltaSince({})
        const parts = chunkDelta(whole, max)
        for (const p of parts.slice(0, -1)) {
          expect(p.ranges).toEqual([])
          expect(p.entries.length).toBe(max)
        }
        const a = new CounterMap('a.1')
        for (const p of parts) a.applyDelta(p)
        expect(a.digest()).toBe(src.digest())
        expect(a.summary()).toEqual(src.summary())
        // Without the last part the summary does not claim anything it lacks.
        const b = new CounterMap('b.1')
        for (const p of parts.slice(0, -1)) b.applyDelta(p)
        if (parts.length > 1) expect(b.summary()).toEqual({})
      }),
    )
  })
})

describe('chunkPush', () => {
  const delta = (n: number): Delta => ({
    ranges: [['r', 0, n]],
    entries: Array.from(
      { length: n },
      (_, i) => [`c${i}`, 'r', 1, 0, i + 1] as [string, string, number, number, number],
    ),
  })

  it('key records ride on the parts from the first, extra groups lead with empty deltas, ranges stay last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), (entries, keys) => {
        const ks = Array.from({ length: keys }, (_, i) => i)
        const parts = chunkPush(delta(entries), ks, 10, 4)
        expect(parts.flatMap((p) => p.k ?? [])).toEqual(ks)
        expect(parts.flatMap((p) => p.delta.entries)).toEqual(delta(entries).entries)
        expect(parts.every((p) => (p.k?.length ?? 0) <= 4 && p.delta.entries.length <= 10)).toBe(true)
        const last = parts[parts.length - 1]!
        expect(last.delta.ranges).toEqual(delta(entries).ranges)
        expect(parts.slice(0, -1).every((p) => p.delta.ranges.length === 0)).toBe(true)
        expect(parts.length).toBe(Math.max(Math.ceil(entries / 10) || 1, Math.ceil(keys / 4)))
      }),
    )
  })
})
