// fast-check histories of bounded-counter replicas: local operations
// (increment, decrement, transfer), deliveries of the deltas they returned
// (any one, to anyone, any number of times, in any order) and full-state syncs.
import fc from 'fast-check'
import { BoundedCounter, type BoundedCounterDelta, ErrorCodes, isTallyError } from '../../src/index.js'

export type BoundedStep =
  | { kind: 'inc' | 'dec'; at: number; amount: number }
  | { kind: 'transfer'; at: number; to: number; amount: number }
  | { kind: 'deliver'; pick: number; to: number }
  | { kind: 'sync'; from: number; to: number }

const amount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
)

/** A history over `replicas` replicas (2–5), mixing operations, deliveries and syncs. */
export function historyArb(replicas: number): fc.Arbitrary<BoundedStep[]> {
  const at = fc.nat(replicas - 1)
  const step: fc.Arbitrary<BoundedStep> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('inc' as const), at, amount }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('dec' as const), at, amount }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('transfer' as const), at, to: at, amount }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), to: at }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: at, to: at }) },
  )
  return fc.array(step, { maxLength: 60 })
}

/** A history together with its replica count. */
export const historyWithReplicasArb = fc
  .integer({ min: 2, max: 5 })
  .chain((n) => historyArb(n).map((steps) => ({ n, steps })))

export interface Run {
  counters: BoundedCounter[]
  /** Every delta a successful operation returned, in order. */
  deltas: BoundedCounterDelta[]
  /** Local operations refused for lack of rights. */
  refused: number
  /** Successful decrements, summed. */
  decremented: number
}

/**
 * Plays `steps` on `n` fresh replicas `r0…`; `each` runs after every step. A
 * decrement or transfer refused with TALLY_BOUND_EXCEEDED is expected (and
 * must leave the replica unchanged); any other error fails the run.
 */
export function play(n: number, steps: readonly BoundedStep[], each?: (run: Run) => void): Run {
  const run: Run = {
    counters: Array.from({ length: n }, (_, i) => new BoundedCounter(`r${i}`)),
    deltas: [],
    refused: 0,
    decremented: 0,
  }
  const c = (i: number) => run.counters[i] as BoundedCounter
  for (const s of steps) {
    switch (s.kind) {
      case 'inc':
        tryOp(run, c(s.at), () => c(s.at).increment(s.amount))
        break
      case 'dec':
        if (tryOp(run, c(s.at), () => c(s.at).decrement(s.amount))) run.decremented += s.amount
        break
      case 'transfer':
        if (s.to !== s.at) tryOp(run, c(s.at), () => c(s.at).transfer(c(s.to).replica, s.amount))
        break
      case 'deliver':
        if (run.deltas.length > 0) c(s.to).applyDelta(run.deltas[s.pick % run.deltas.length])
        break
      case 'sync':
        c(s.to).merge(c(s.from).state())
        break
    }
    each?.(run)
  }
  return run
}

function tryOp(run: Run, c: BoundedCounter, op: () => BoundedCounterDelta): boolean {
  const before = c.digest()
  try {
    run.deltas.push(op())
    return true
  } catch (err) {
    if (!isTallyError(err, ErrorCodes.BOUND_EXCEEDED)) throw err
    if (c.digest() !== before) throw new Error('a refused operation changed the counter')
    run.refused++
    return false
  }
}
