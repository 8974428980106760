// The reset marks that must travel with a delta (docs/crdt.md, "In a daemon":
// every path that ships totals ships them with their marks, or the receiver
// has the marks first). A node's totals and marks live apart (CounterMap and
// CounterMarks) and travel in different messages; so every PUSH sequence a
// node sends (eager push, forward, anti-entropy answer, catch-up slice,
// quorum replication) is led by MARKS frames holding the marks of the
// counters its delta carries. The receiver handles the frames of a sequence
// in order, so it merges the marks before the totals: a write lifted after a
// garbage collection (counter-gc.ts) never reads, on a node still holding the
// old covered copy, as its new totals less the old mark. Pure.

import type { Delta } from '@tally/crdt'
import type { CounterMarks } from './counter-marks.js'
import { MAX_MARK_TUPLES, type MarkTuple } from './mark-tuple.js'

/**
 * The mark tuples to send ahead of `delta`: one per counter `delta` has an
 * entry of and `marks` holds a reset mark for (a TTL alone needs no
 * company: it changes no value until it is applied), with the TTL left out
 * (0: it travels by MARKS as before). Counters for which `skip(name)` is true
 * are left out (a local mark change not yet durable: never sent before it
 * is). Empty, in O(1), when `marks` is empty; else O(entries + replicas of
 * the tuples). Pure.
 */
export function marksAhead(delta: Delta, marks: CounterMarks, skip: (name: string) => boolean): MarkTuple[] {
  if (marks.size === 0) return []
  let seen: Set<string> | undefined
  const out: MarkTuple[] = []
  for (const e of delta.entries) {
    const name = e[0]
    if (!marks.has(name)) continue
    seen ??= new Set()
    if (seen.has(name)) continue
    seen.add(name)
    if (skip(name)) continue
    const [, p, n] = marks.tuple(name)
    if (!hasEntry(p) && !hasEntry(n)) continue
    out.push([name, p, n, 0])
  }
  return out
}

/** `tuples` in groups of at most {@link MAX_MARK_TUPLES} (one MARKS message each). Pure. */
export function markChunks(tuples: readonly MarkTuple[]): MarkTuple[][] {
  const out: MarkTuple[][] = []
  for (let i = 0; i < tuples.length; i += MAX_MARK_TUPLES) out.push(tuples.slice(i, i + MAX_MARK_TUPLES))
  return out
}

function hasEntry(t: Readonly<Record<string, number>>): boolean {
  for (const v of Object.values(t)) if (v > 0) return true
  return false
}
