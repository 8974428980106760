// Garbage collection of deleted counters (reset-gc.ts): a seeded model of
// three replicas and two counters over a network that delays, reorders and
// duplicates, run in lockstep with a reference that never collects. A
// replica drops a covered counter only when every replica's state and every
// message in flight acknowledges it; values must then agree with the
// reference at every step. Three variants that break one part of the rule
// (no floor, deltas without the writer's mark, no acknowledgement) must be
// caught by the same property.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  acknowledges,
  ErrorCodes,
  floorState,
  ResettableCounter,
  type ResettableCounterDelta,
  type ResettableCounterState,
  raiseFloor,
} from '../src/index.js'

const REPLICAS = ['a', 'b', 'c'] as const
const NAMES = ['x', 'y'] as const

type Step =
  | { kind: 'write'; at: number; name: number; amount: number }
  | { kind: 'reset'; at: number; name: number }
  | { kind: 'sync'; from: number; to: number; name: number }
  | { kind: 'deliver'; pick: number; keep: boolean }
  | { kind: 'gc'; at: number; name: number }

const at = fc.nat(REPLICAS.length - 1)
const name = fc.nat(NAMES.length - 1)
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at,
      name,
      amount: fc.integer({ min: -5, max: 5 }).filter((v) => v !== 0),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reset' as const), at, name }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: at, to: at, name }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), keep: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('gc' as const), at, name }) },
)

/** What part of the rule a run leaves out (the property must catch each). */
interface Variant {
  floor: boolean
  ownMark: boolean
  acks: boolean
}
const RULE: Variant = { floor: true, ownMark: true, acks: true }

interface Msg {
  to: number
  name: string
  gc: ResettableCounterState | ResettableCounterDelta
  ref: ResettableCounterState | ResettableCounterDelta
}

/** Three replicas that collect, and three that never do, fed the same steps. */
class World {
  readonly held = REPLICAS.map(() => new Map<string, ResettableCounter>())
  readonly floor = REPLICAS.map(() => 0)
  readonly ref = REPLICAS.map(
    (r) => new Map<string, ResettableCounter>(NAMES.map((n) => [n, new ResettableCounter(r)])),
  )
  readonly flight: Msg[] = []
  dropped = 0

  constructor(readonly v: Variant) {}

  value(i: number, n: string): number {
    return this.held[i]?.get(n)?.value ?? 0
  }

  refValue(i: number, n: string): number {
    return this.ref[i]?.get(n)?.value ?? 0
  }

  #refOf(i: number, n: string): ResettableCounter {
    return this.ref[i]?.get(n) as ResettableCounter
  }

  #gcOf(i: number, n: string): ResettableCounter {
    const held = this.held[i] as Map<string, ResettableCounter>
    let c = held.get(n)
    if (!c) {
      c = new ResettableCounter(REPLICAS[i] as string)
      held.set(n, c)
    }
    return c
  }

  step(s: Step): void {
    if (s.kind === 'write') this.#write(s.at, NAMES[s.name] as string, s.amount)
    else if (s.kind === 'reset') {
      const n = NAMES[s.name] as string
      const gc = this.#gcOf(s.at, n).reset()
      const ref = this.#refOf(s.at, n).reset()
      this.#broadcast(s.at, n, gc, ref)
    } else if (s.kind === 'sync') {
      const n = NAMES[s.name] as string
      const held = this.held[s.from]?.get(n)
      if (!held || s.from === s.to) return
      this.flight.push({ to: s.to, name: n, gc: held.state(), ref: this.#refOf(s.from, n).state() })
    } else if (s.kind === 'deliver') {
      if (this.flight.length === 0) return
      const k = s.pick % this.flight.length
      const m = this.flight[k] as Msg
      if (!s.keep) this.flight.splice(k, 1) // kept: delivered again later (a duplicate)
      this.#gcOf(m.to, m.name).merge(m.gc)
      this.#refOf(m.to, m.name).merge(m.ref)
    } else this.#gc(s.at, NAMES[s.name] as string)
  }

  #write(i: number, n: string, amount: number): void {
    const r = REPLICAS[i] as string
    const c = this.#gcOf(i, n)
    const f = this.floor[i] as number
    const own = c.state()
    // Own totals below the floor: start them at the floor (they are covered: see floorState).
    if (this.v.floor && ((own.p[r] ?? 0) < f || (own.n[r] ?? 0) < f)) {
      expect((own.mark.p[r] ?? 0) === (own.p[r] ?? 0) && (own.mark.n[r] ?? 0) === (own.n[r] ?? 0)).toBe(true)
      c.merge(floorState(r, f))
    }
    let gc = amount > 0 ? c.increment(amount) : c.decrement(-amount)
    if (!this.v.ownMark) gc = { ...gc, mark: {} }
    const ref = amount > 0 ? this.#refOf(i, n).increment(amount) : this.#refOf(i, n).decrement(-amount)
    this.#broadcast(i, n, gc, ref)
  }

  #broadcast(i: number, n: string, gc: Msg['gc'], ref: Msg['ref']): void {
    for (let j = 0; j < REPLICAS.length; j++) if (j !== i) this.flight.push({ to: j, name: n, gc, ref })
  }

  #gc(i: number, n: string): void {
    const held = this.held[i] as Map<string, ResettableCounter>
    const c = held.get(n)
    if (!c?.isEmpty) return
    const s = c.state()
    if (this.v.acks) {
      for (let j = 0; j < REPLICAS.length; j++) {
        const other = this.held[j]?.get(n)
        if (j !== i && other && !acknowledges(other.state(), s)) return
      }
      for (const m of this.flight) if (m.name === n && !acknowledges(m.gc, s)) return
    }
    this.floor[i] = raiseFloor(this.floor[i] as number, s, REPLICAS[i] as string)
    held.delete(n)
    this.dropped++
  }

  /** Every message delivered once, then every replica's state to every other. */
  settle(): void {
    for (const m of this.flight.splice(0)) {
      this.#gcOf(m.to, m.name).merge(m.gc)
      this.#refOf(m.to, m.name).merge(m.ref)
    }
    for (const n of NAMES)
      for (let i = 0; i < REPLICAS.length; i++)
        for (let j = 0; j < REPLICAS.length; j++) {
          const from = this.held[i]?.get(n)
          if (from) this.#gcOf(j, n).merge(from.state())
          this.#refOf(j, n).merge(this.#refOf(i, n).state())
        }
  }
}

/** Runs `steps`; throws at the first step where a collecting replica's value differs from the reference. */
function run(steps: readonly Step[], v: Variant): World {
  const w = new World(v)
  const check = (when: string) => {
    for (let i = 0; i < REPLICAS.length; i++)
      for (const n of NAMES)
        if (w.value(i, n) !== w.refValue(i, n))
          throw new Error(
            `${when}: ${REPLICAS[i]}/${n} reads ${w.value(i, n)}, reference ${w.refValue(i, n)}`,
          )
  }
  steps.forEach((s, k) => {
    w.step(s)
    check(`step ${k} (${s.kind})`)
  })
  w.settle()
  check('after settling')
  return w
}

const traces = fc.array(stepArb, { minLength: 20, maxLength: 80 })

describe('garbage collection of deleted counters', () => {
  it('with the rule, no drop ever changes a value, at any step or after settling', () => {
    let drops = 0
    fc.assert(
      fc.property(traces, (steps) => {
        drops += run(steps, RULE).dropped
      }),
      { numRuns: 1000, seed: 18 },
    )
    expect(drops).toBeGreaterThan(100) // the property did exercise drops
  })

  it('catches each part of the rule left out: floor, own mark on deltas, acknowledgement', () => {
    for (const broken of [
      { ...RULE, floor: false },
      { ...RULE, ownMark: false },
      { ...RULE, acks: false },
    ]) {
      const out = fc.check(
        fc.property(traces, (steps) => {
          run(steps, broken)
        }),
        { numRuns: 2000, seed: 18 },
      )
      expect([broken, out.failed]).toEqual([broken, true])
      expect(String(out.errorInstance)).toMatch(/reads/)
    }
  })

  it('a concurrent increment on a partitioned replica survives the drop', () => {
    const w = new World(RULE)
    const steps: Step[] = [
      { kind: 'write', at: 2, name: 0, amount: 4 }, // c writes 4; a and b get it
      { kind: 'deliver', pick: 0, keep: false },
      { kind: 'deliver', pick: 0, keep: false },
      { kind: 'reset', at: 0, name: 0 }, // a deletes it; b and c get the delete
      { kind: 'deliver', pick: 0, keep: false },
      { kind: 'deliver', pick: 0, keep: false },
      { kind: 'write', at: 2, name: 0, amount: 3 }, // c, now cut off, writes 3 more
      { kind: 'gc', at: 0, name: 0 }, // c's state and its delta in flight carry c's mark: acknowledged
      { kind: 'gc', at: 1, name: 0 },
    ]
    for (const s of steps) w.step(s)
    expect(w.dropped).toBe(2)
    expect([0, 1, 2].map((i) => w.value(i, 'x'))).toEqual([0, 0, 3])
    w.settle() // the partition heals
    expect([0, 1, 2].map((i) => w.value(i, 'x'))).toEqual([3, 3, 3])
    expect([0, 1, 2].map((i) => w.refValue(i, 'x'))).toEqual([3, 3, 3])
  })

  it('a write after the drop survives a merge with a stale copy (the floor)', () => {
    const a = new ResettableCounter('a')
    a.increment(7)
    a.reset()
    const stale = a.state() // b still holds this covered copy
    const floor = raiseFloor(0, stale, 'a')
    expect(floor).toBe(7)
    // a drops the counter, then writes it again from its floor
    const again = ResettableCounter.fromState('a', floorState('a', floor))
    const d = again.increment(2)
    expect(d).toEqual({ p: { a: 9 }, mark: { p: { a: 7 } } })
    const b = ResettableCounter.fromState('b', stale)
    b.applyDelta(d)
    expect(b.value).toBe(2)
    again.merge(stale)
    expect(again.value).toBe(2)
    // Without the floor the stale copy swallows the write.
    const naive = new ResettableCounter('a')
    const lost = ResettableCounter.fromState('b', stale)
    lost.applyDelta(naive.increment(2))
    expect(lost.value).toBe(0)
  })

  it('a stale covered copy that comes back is harmless and collected again', () => {
    const w = new World(RULE)
    for (const s of [
      { kind: 'write', at: 0, name: 0, amount: 4 },
      { kind: 'sync', from: 0, to: 1, name: 0 }, // a message still in flight later
      { kind: 'reset', at: 0, name: 0 },
    ] as Step[])
      w.step(s)
    // Deliver everything but the old sync (a's reset reaches b and c), then the writes' deltas.
    for (let k = w.flight.length - 1; k >= 0; k--)
      if (k !== 2) w.step({ kind: 'deliver', pick: k, keep: false })
    w.step({ kind: 'gc', at: 0, name: 0 })
    expect(w.dropped).toBe(0) // the old sync (4 without its mark) is still in flight
    w.step({ kind: 'deliver', pick: 0, keep: true }) // delivered, and kept as a duplicate
    for (const i of [0, 1, 2]) w.step({ kind: 'gc', at: i, name: 0 })
    expect(w.dropped).toBe(0) // the duplicate still carries the old total without its mark
    w.flight.length = 0 // the network lost it
    for (const i of [0, 1, 2]) w.step({ kind: 'gc', at: i, name: 0 })
    expect(w.dropped).toBe(3)
    // b's covered copy comes back to a (a stale replay): value 0, collected again.
    w.held[1]?.set('x', ResettableCounter.fromState('b', { p: { a: 4 }, mark: { p: { a: 4 } } }))
    w.step({ kind: 'sync', from: 1, to: 0, name: 0 })
    w.step({ kind: 'deliver', pick: 0, keep: false })
    expect(w.value(0, 'x')).toBe(0)
    w.step({ kind: 'gc', at: 0, name: 0 })
    w.step({ kind: 'gc', at: 1, name: 0 })
    expect(w.dropped).toBe(5)
    expect(w.held.every((h) => !h.has('x'))).toBe(true)
  })
})

describe('acknowledges, raiseFloor, floorState', () => {
  it('acknowledges: every total the dropped state covers is covered in the holder', () => {
    const dropped = { p: { a: 5, b: 2 }, n: { a: 1 }, mark: { p: { a: 5, b: 2 }, n: { a: 1 } } }
    const table: Array<[string, ResettableCounterState | ResettableCounterDelta, boolean]> = [
      ['nothing held', { p: {}, n: {}, mark: { p: {}, n: {} } }, true],
      ['the same covered state', dropped, true],
      ['a larger mark, written since', { p: { a: 9, b: 2 }, n: { a: 1 }, mark: dropped.mark }, true],
      ['an older covered copy', { p: { a: 3 }, mark: { p: { a: 3 } } }, true],
      ['an old total without its mark', { p: { a: 3 } }, false],
      ['a later total with a smaller mark', { p: { a: 9 }, mark: { p: { a: 4 } } }, false],
      ['a decrement total without its mark', { n: { a: 1 } }, false],
      ['an own-mark delta of a write after the delete', { p: { b: 3 }, mark: { p: { b: 2 } } }, true],
    ]
    for (const [what, holder, want] of table)
      expect([what, acknowledges(holder, dropped)]).toEqual([what, want])
  })

  it('raiseFloor is the max of the floor and the own totals; floorState starts there, covered', () => {
    expect(
      raiseFloor(0, { p: { a: 5, b: 9 }, n: { a: 7 }, mark: { p: { a: 5, b: 9 }, n: { a: 7 } } }, 'a'),
    ).toBe(7)
    expect(raiseFloor(12, { p: { a: 5 }, mark: { p: { a: 5 } } }, 'a')).toBe(12)
    expect(raiseFloor(3, { p: {}, n: {} }, 'a')).toBe(3)
    const c = ResettableCounter.fromState('a', floorState('a', 40))
    expect([c.value, c.isEmpty]).toEqual([0, true])
    expect(floorState('a', 0)).toEqual({ p: {}, n: {}, mark: { p: {}, n: {} } })
    // The life of a counter started at the floor: 2^53−1 − floor increments.
    const high = ResettableCounter.fromState('a', floorState('a', Number.MAX_SAFE_INTEGER - 1))
    high.increment(1)
    expect(() => high.increment(1)).toThrow(expect.objectContaining({ code: ErrorCodes.OVERFLOW }))
  })

  it('refuses bad input', () => {
    for (const f of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => floorState('a', f)).toThrow(RangeError)
      expect(() => raiseFloor(f, { p: {} }, 'a')).toThrow(RangeError)
    }
    expect(() => floorState('', 1)).toThrow(expect.objectContaining({ code: ErrorCodes.REPLICA_INVALID }))
    expect(() => raiseFloor(0, { p: { a: -1 } }, 'a')).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
    expect(() => acknowledges({ p: { a: 1 }, mark: { p: { a: 2 } } }, { p: {} })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STATE_INVALID }),
    )
  })
})
