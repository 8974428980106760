// Applying a batch of plain writes to the CounterMap: as if one by one, in
// order, but with one map operation per counter where that gives the same
// answers. Pure over the map (no I/O): the node makes the batch durable.

import type { CounterMap } from '@tally/crdt'

/** One plain write of a batch: no idempotency key, consistency `one`. */
export interface BatchOp {
  readonly name: string
  readonly op: 'increment' | 'decrement'
  /** Positive safe integer; anything else is refused for this op alone (TALLY_AMOUNT_INVALID). */
  readonly amount: number
}

/**
 * Per op of a batch: the counter's value right after that op (what it would
 * answer had it run alone, in order), or the error that refused it — a
 * TallyError of @tally/crdt (TALLY_NAME_INVALID, TALLY_AMOUNT_INVALID,
 * TALLY_OVERFLOW, TALLY_VALUE_UNSAFE); nothing changed for a refused op.
 */
export type BatchOutcome = number | Error

/**
 * Applies `ops` to `map`. Every op is answered exactly as if
 * `map.increment`/`map.decrement` ran for each in order: the ops of one
 * counter that all go one way (the common case: `INCR k` × n) become a
 * single map operation of their sum, and each op's value is the running
 * value after it (`INCR k` ×3 from 0 answers 1, 2, 3). When that fold would
 * not give the same answers (mixed directions, an op the map would refuse,
 * a sum past 2^53−1, a value already unsafe), the counter's ops run one by
 * one. Ops of different counters are independent, so grouping by counter
 * keeps the order that matters. Synchronous; never throws.
 */
export function foldBatch(map: CounterMap, ops: readonly BatchOp[]): BatchOutcome[] {
  const out: BatchOutcome[] = new Array(ops.length)
  if (ops.length === 1) {
    out[0] = applyOne(map, ops[0] as BatchOp)
    return out
  }
  // Indices of each counter's ops, in order.
  const groups = new Map<string, number[]>()
  for (let i = 0; i < ops.length; i++) {
    const name = (ops[i] as BatchOp).name
    const g = groups.get(name)
    if (g === undefined) groups.set(name, [i])
    else g.push(i)
  }
  for (const idx of groups.values()) {
    if (idx.length === 1 || !foldGroup(map, ops, idx, out)) {
      for (const i of idx) out[i] = applyOne(map, ops[i] as BatchOp)
    }
  }
  return out
}

function applyOne(map: CounterMap, o: BatchOp): BatchOutcome {
  try {
    return o.op === 'increment' ? map.increment(o.name, o.amount) : map.decrement(o.name, o.amount)
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

// One map operation for ops `idx` (all of one counter) when it answers as
// they would one by one; false (nothing changed) when it might not.
function foldGroup(
  map: CounterMap,
  ops: readonly BatchOp[],
  idx: readonly number[],
  out: BatchOutcome[],
): boolean {
  const first = ops[idx[0] as number] as BatchOp
  let sum = 0
  for (const i of idx) {
    const o = ops[i] as BatchOp
    if (o.op !== first.op || !Number.isSafeInteger(o.amount) || o.amount <= 0) return false
    sum += o.amount
  }
  if (!Number.isSafeInteger(sum)) return false
  let v: number
  try {
    // Unknown counters read 0; an invalid name or an unsafe value throws: one by one then.
    v = map.value(first.name)
    // Both ends safe and the walk monotonic: every value on the way is safe and exact.
    if (first.op === 'increment') map.increment(first.name, sum)
    else map.decrement(first.name, sum)
  } catch {
    // The map changes nothing when it throws, and then some op alone would throw too.
    return false
  }
  const sign = first.op === 'increment' ? 1 : -1
  for (const i of idx) {
    v += sign * (ops[i] as BatchOp).amount
    out[i] = v
  }
  return true
}
