// fast-check generators of operation histories and reachable states.
import fc from 'fast-check'
import { CounterMap } from '../../src/index.js'

export const REPLICAS = ['a', 'b', 'c'] as const
export const NAMES = ['x', 'y', 'z', 'tenant:42', 'constructor'] as const

/** One step of a history over REPLICAS: a local operation, or a one-way anti-entropy sync. */
export type Step =
  | { kind: 'inc' | 'dec'; at: number; name: string; amount: number }
  | { kind: 'sync'; from: number; to: number; full: boolean }

export const amountArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
)

export const opArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('inc' as const, 'dec' as const),
  at: fc.nat(REPLICAS.length - 1),
  name: fc.constantFrom(...NAMES),
  amount: amountArb,
})

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: opArb },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      from: fc.nat(REPLICAS.length - 1),
      to: fc.nat(REPLICAS.length - 1),
      full: fc.boolean(),
    }),
  },
)

/** Runs a history on fresh replicas; syncs are complete (deltaSince or full state), so no gaps arise. */
export function run(steps: readonly Step[]): CounterMap[] {
  const maps = REPLICAS.map((r) => new CounterMap(r))
  for (const s of steps) apply(maps, s)
  return maps
}

export function apply(maps: CounterMap[], s: Step): void {
  if (s.kind === 'sync') {
    const from = maps[s.from] as CounterMap
    const to = maps[s.to] as CounterMap
    if (s.full) to.merge(from.state())
    else to.applyDelta(from.deltaSince(to.summary()))
    return
  }
  const m = maps[s.at] as CounterMap
  if (s.kind === 'inc') m.increment(s.name, s.amount)
  else m.decrement(s.name, s.amount)
}

export const historyArb = fc.array(stepArb, { maxLength: 60 })
