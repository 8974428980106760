import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BoundExceededError,
  BoundedCounter,
  type BoundedCounterState,
  ErrorCodes,
  isTallyError,
  TallyError,
} from '../src/index.js'
import { historyWithReplicasArb, play, type Run } from './support/bounded-history.js'
import { prng, wire } from './support/canonical.js'

const MAX = Number.MAX_SAFE_INTEGER

/** Every view: value ≥ 0, every known replica's rights ≥ 0, and they sum to the value. */
function checkInvariant(run: Run): void {
  for (const c of run.counters) {
    expect(c.bigValue).toBeGreaterThanOrEqual(0n)
    expect(c.localRights).toBeGreaterThanOrEqual(0)
    let sum = 0n
    for (const r of c.replicas()) {
      const rights = c.rights(r)
      expect(rights).toBeGreaterThanOrEqual(0)
      sum += BigInt(rights)
    }
    expect(sum).toBe(c.bigValue)
  }
}

function merged(...states: BoundedCounterState[]): BoundedCounter {
  const c = new BoundedCounter('observer')
  for (const s of states) c.merge(s)
  return c
}

function refusal(fn: () => unknown): BoundExceededError {
  try {
    fn()
  } catch (err) {
    if (err instanceof BoundExceededError) return err
    throw err
  }
  throw new Error('expected TALLY_BOUND_EXCEEDED')
}

describe('BoundedCounter', () => {
  it('runs the README example through the package entry point (dist/)', async () => {
    const { BoundedCounter, grantFor, isTallyError, richestReplica } = await import('@tally/crdt')
    const a = new BoundedCounter('node-a')
    const b = new BoundedCounter('node-b')
    b.applyDelta(a.increment(10))
    expect([a.value, b.value, b.localRights]).toEqual([10, 10, 0])
    let asked: string | undefined
    try {
      b.decrement(1)
    } catch (err) {
      if (!isTallyError(err, 'TALLY_BOUND_EXCEEDED')) throw err
      asked = richestReplica(b.state(), b.replica)
      const granted = grantFor(a.state(), a.replica, b.replica, 4)
      expect(granted).toBe(4)
      b.applyDelta(a.transfer(b.replica, granted))
    }
    expect(asked).toBe('node-a')
    b.decrement(3)
    expect([b.value, b.localRights, a.localRights]).toEqual([7, 1, 6])
  })

  it('keeps the documented example working', () => {
    const a = new BoundedCounter('node-a')
    const b = new BoundedCounter('node-b')
    b.applyDelta(a.increment(10)) // 10 items arrive at node-a: node-a holds 10 rights
    expect([a.value, b.value, a.localRights, b.localRights]).toEqual([10, 10, 10, 0])
    const e = refusal(() => b.decrement(1)) // node-b holds no rights
    expect(e.code).toBe('TALLY_BOUND_EXCEEDED')
    expect([e.localRights, e.value, e.requested]).toEqual([0, 10, 1])
    expect(e.details).toEqual({ localRights: 0, value: 10, requested: 1 })
    expect(isTallyError(e, ErrorCodes.BOUND_EXCEEDED)).toBe(true)
    b.applyDelta(a.transfer('node-b', 4)) // node-b asked; node-a gives 4
    b.applyDelta(b.decrement(3))
    a.applyDelta(b.state())
    expect([a.value, a.localRights, a.rights('node-b')]).toEqual([7, 6, 1])
    expect(a.digest()).toBe(b.digest())
    expect(a.equals(b)).toBe(true)
  })

  it('floor 0: the last item is sold once, whichever replica sells it', () => {
    const a = new BoundedCounter('a')
    const b = BoundedCounter.fromState('b', a.increment(1))
    // Partitioned: both try to sell the last item. Only the holder of the right can.
    expect(() => b.decrement()).toThrow(expect.objectContaining({ code: ErrorCodes.BOUND_EXCEEDED }))
    const sold = a.decrement()
    b.merge(sold)
    expect([a.value, b.value]).toEqual([0, 0])
    expect(() => a.decrement()).toThrow(expect.objectContaining({ code: ErrorCodes.BOUND_EXCEEDED }))
  })

  it('after any interleaving of operations, deliveries and syncs on 2–5 replicas, no view is negative', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, ({ n, steps }) => {
        const run = play(n, steps, checkInvariant)
        // The value never exceeds what was added, and a replica holding rights could spend them.
        for (const c of run.counters) {
          const rights = c.localRights
          if (rights > 0) {
            const before = c.value
            c.decrement(rights)
            expect(c.value).toBe(before - rights)
            expect(c.localRights).toBe(0)
          }
        }
        checkInvariant(run)
      }),
    )
  })

  it('merge is commutative, associative and idempotent on states of one history', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, fc.nat(), fc.nat(), fc.nat(), ({ n, steps }, i, j, k) => {
        const snapshots: BoundedCounterState[] = [new BoundedCounter('x').state()]
        play(n, steps, (run) => {
          for (const c of run.counters) snapshots.push(c.state())
        })
        const a = snapshots[i % snapshots.length] as BoundedCounterState
        const b = snapshots[j % snapshots.length] as BoundedCounterState
        const c = snapshots[k % snapshots.length] as BoundedCounterState
        expect(merged(a, b).equals(merged(b, a))).toBe(true)
        expect(merged(merged(a, b).state(), c).equals(merged(a, merged(b, c).state()))).toBe(true)
        const m = merged(a)
        expect(m.merge(a)).toBe(false)
        expect(m.equals(merged(a))).toBe(true)
        expect(merged(a, b).digest()).toBe(merged(b, a).digest())
      }),
    )
  })

  it('the deltas, in any order, duplicated, equal a merge of the final states', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, fc.nat(), ({ n, steps }, seed) => {
        const run = play(n, steps)
        const rand = prng(seed)
        const deliveries = [...run.deltas, ...run.deltas.filter(() => rand() < 0.3)]
        for (let x = deliveries.length - 1; x > 0; x--) {
          const y = Math.floor(rand() * (x + 1))
          ;[deliveries[x], deliveries[y]] = [deliveries[y], deliveries[x]] as [
            (typeof deliveries)[0],
            (typeof deliveries)[0],
          ]
        }
        const viaDeltas = new BoundedCounter('observer')
        for (const d of deliveries) {
          viaDeltas.applyDelta(wire(d))
          // Every prefix of the deliveries is a view some replica could hold: never negative.
          expect(viaDeltas.bigValue).toBeGreaterThanOrEqual(0n)
        }
        const viaStates = merged(...run.counters.map((c) => c.state()))
        expect(viaDeltas.equals(viaStates)).toBe(true)
        expect(viaDeltas.digest()).toBe(viaStates.digest())
        // The value is exactly what was added minus what was sold.
        const added = run.counters.reduce((s, c) => s + (c.state().p[c.replica] ?? 0), 0)
        expect(viaStates.value).toBe(added - run.decremented)
      }),
    )
  })

  it('redelivering a delta changes nothing and reports no change', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, fc.nat(), ({ n, steps }, pick) => {
        const run = play(n, steps)
        if (run.deltas.length === 0) return
        const d = run.deltas[pick % run.deltas.length]
        const target = run.counters[pick % n] as BoundedCounter
        target.applyDelta(d)
        const digest = target.digest()
        expect(target.applyDelta(d)).toBe(false)
        expect(target.merge(target.state())).toBe(false)
        expect(target.digest()).toBe(digest)
      }),
    )
  })

  it('a refused decrement or transfer changes nothing; an operation succeeds iff the local rights suffice', () => {
    fc.assert(
      fc.property(
        historyWithReplicasArb,
        fc.nat(),
        fc.integer({ min: 1, max: 100 }),
        ({ n, steps }, pick, amount) => {
          const run = play(n, steps)
          const c = run.counters[pick % n] as BoundedCounter
          const to = (pick + 1) % n
          const before = [c.digest(), c.state(), c.value, c.localRights] as const
          for (const op of [() => c.decrement(amount), () => c.transfer(`r${to}`, amount)]) {
            if (before[3] >= amount) continue
            const e = refusal(op)
            expect([e.localRights, e.value, e.requested]).toEqual([before[3], before[2], amount])
            expect([c.digest(), c.state(), c.value, c.localRights]).toEqual(before)
          }
          if (before[3] >= amount) {
            c.decrement(amount)
            expect(c.value).toBe(before[2] - amount)
          }
        },
      ),
    )
  })

  it('a transfer conserves the total of the rights: the giver loses what the receiver gains', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, fc.nat(), fc.nat(), ({ n, steps }, pick, share) => {
        const run = play(n, steps)
        const giver = run.counters[pick % n] as BoundedCounter
        const receiver = `r${(pick + 1) % n}`
        const rights = giver.localRights
        if (rights === 0) return
        const amount = 1 + (share % rights)
        const sum = () => giver.replicas().reduce((s, r) => s + BigInt(giver.rights(r)), 0n)
        const [total, value, gains] = [sum(), giver.value, giver.rights(receiver)]
        const delta = giver.transfer(receiver, amount)
        expect([sum(), giver.value]).toEqual([total, value])
        expect(giver.localRights).toBe(rights - amount)
        expect(giver.rights(receiver)).toBe(gains + amount)
        const r = run.counters[(pick + 1) % n] as BoundedCounter
        const own = r.localRights
        r.applyDelta(delta)
        expect(r.localRights).toBeGreaterThanOrEqual(own + amount)
      }),
    )
  })

  it('digest is equal iff the states are equal', () => {
    fc.assert(
      fc.property(historyWithReplicasArb, fc.nat(), fc.nat(), ({ n, steps }, i, j) => {
        const snapshots: BoundedCounterState[] = []
        play(n, steps, (run) => {
          for (const c of run.counters) snapshots.push(c.state())
        })
        if (snapshots.length === 0) return
        const x = merged(snapshots[i % snapshots.length] as BoundedCounterState)
        const y = merged(snapshots[j % snapshots.length] as BoundedCounterState)
        expect(x.digest() === y.digest()).toBe(x.equals(y))
      }),
    )
    // The three tables are distinct: the same number in p, n or r digests differently.
    const a = BoundedCounter.fromState('a', { p: { a: 2 }, r: { a: { b: 1 } } })
    const b = BoundedCounter.fromState('a', { p: { a: 2, b: 1 } })
    const c = BoundedCounter.fromState('a', { p: { a: 2 }, n: { a: 1 } })
    expect(new Set([a.digest(), b.digest(), c.digest()]).size).toBe(3)
  })

  it('state() is plain, omits zeros, and survives a wire', () => {
    const a = new BoundedCounter('a')
    expect(a.state()).toEqual({ p: {}, n: {}, r: {} })
    a.increment(5)
    a.transfer('b', 2)
    a.decrement(1)
    expect(a.state()).toEqual({ p: { a: 5 }, n: { a: 1 }, r: { a: { b: 2 } } })
    const b = BoundedCounter.fromState('b', wire(a.state()))
    expect(b.equals(a)).toBe(true)
    expect([b.localRights, b.rights('a'), b.rights('nobody'), b.value]).toEqual([2, 2, 0, 4])
    expect(b.replicas()).toEqual(['a', 'b'])
    expect(BoundedCounter.fromState('c', { p: { a: 0 }, n: {}, r: { a: {} } }).state()).toEqual({
      p: {},
      n: {},
      r: {},
    })
  })

  it('exact arithmetic: refuses totals past 2^53−1, changing nothing', () => {
    const a = new BoundedCounter('a')
    a.increment(MAX - 1)
    expect(() => a.increment(2)).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(a.increment(1)).toEqual({ p: { a: MAX } })
    expect(a.localRights).toBe(MAX)
    a.transfer('b', MAX)
    const b = BoundedCounter.fromState('b', a.state())
    b.transfer('a', MAX)
    a.merge(b.state())
    // Rights ping-ponged: the pair total r[a][b] would pass 2^53−1.
    expect(() => a.transfer('b', 1)).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
    expect(a.localRights).toBe(MAX)
    a.decrement(MAX)
    expect([a.value, a.localRights]).toEqual([0, 0])
    // Concurrent increments merged past 2^53−1: value exact as a bigint, decrements still exact.
    const x = BoundedCounter.fromState('x', { p: { x: MAX, y: MAX } })
    expect(() => x.value).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(x.bigValue).toBe(2n * BigInt(MAX))
    const z = BoundedCounter.fromState('z', x.state())
    const e = refusal(() => z.decrement(1))
    expect([e.value, e.localRights]).toEqual([MAX, 0]) // value capped: the exact value is bigValue
    // A decrement that leaves the value above 2^53−1 is refused, as for a PNCounter.
    expect(() => x.decrement(1)).toThrow(expect.objectContaining({ code: ErrorCodes.VALUE_UNSAFE }))
    expect(x.localRights).toBe(MAX)
    x.decrement(MAX)
    expect(x.value).toBe(MAX)
    expect(x.localRights).toBe(0)
  })

  it('refuses bad amounts, bad receivers and self-transfers, changing nothing', () => {
    const a = new BoundedCounter('a')
    a.increment(3)
    const before = a.digest()
    for (const bad of [0, -1, -0, 1.5, Number.NaN, Infinity, MAX + 1, '1', 1n, null, undefined]) {
      const code = { code: ErrorCodes.AMOUNT_INVALID }
      if (bad !== undefined) {
        expect(() => a.increment(bad as number)).toThrow(expect.objectContaining(code))
        expect(() => a.decrement(bad as number)).toThrow(expect.objectContaining(code))
      }
      expect(() => a.transfer('b', bad as number)).toThrow(expect.objectContaining(code))
    }
    for (const to of ['', 'x'.repeat(257), 'a\u0000', '__proto__', 5, null]) {
      expect(() => a.transfer(to as string, 1)).toThrow(
        expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }),
      )
    }
    expect(() => a.transfer('a', 1)).toThrow(expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }))
    expect(() => a.transfer('b', 4)).toThrow(expect.objectContaining({ code: ErrorCodes.BOUND_EXCEEDED }))
    expect(() => a.transfer('b', 4)).toThrow(TallyError)
    expect(a.digest()).toBe(before)
    expect(a.localRights).toBe(3)
    for (const id of ['', 'x'.repeat(257), 'a\u007f', '__proto__']) {
      expect(() => new BoundedCounter(id)).toThrow(
        expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }),
      )
    }
  })

  it('a decrement delta carries the rights behind it: a receiver of only that delta is never negative', () => {
    // a creates 5, gives them to b; b sells 5. A replica that hears only b's sale
    // (a's increment and transfer lost) must still see a value of 0, not −5.
    const a = new BoundedCounter('a')
    a.increment(5)
    const b = BoundedCounter.fromState('b', a.transfer('b', 5))
    const sale = b.decrement(5)
    const c = new BoundedCounter('c')
    c.applyDelta(sale)
    expect([c.value, c.rights('a'), c.rights('b')]).toEqual([0, 0, 0])
  })
})
