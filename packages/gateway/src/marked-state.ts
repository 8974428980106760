// Merging replica states that carry reset marks: a node's `GET /state` adds
// `marks` (one `[name, p, n, ttl]` tuple per counter ever deleted or given a
// TTL) to the CounterMap state. The totals merge as before (per-entry max);
// the marks merge per entry by max; a counter's value is its totals under the
// merged mark (@tally/crdt markedValue), and a counter whose every total is
// covered does not exist (deleted or expired).

import { CounterMap, ErrorCodes, isValidName, isValidReplicaId, markedValue, TallyError } from '@tally/crdt'

interface Mark {
  p: Record<string, number>
  n: Record<string, number>
}

/** Merged replica states with their marks. */
export interface MarkedMerge {
  readonly map: CounterMap
  /** Exact value of `name` under its mark, as a bigint. */
  bigValue(name: string): bigint
  /** True when `name` has something beyond its mark. */
  exists(name: string): boolean
  /** Sorted names of the counters that exist. */
  names(): string[]
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

function readTable(x: unknown): Record<string, number> | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(x)) {
    if (!isValidReplicaId(k) || !isCount(v)) return null
    out[k] = v
  }
  return out
}

function raise(into: Record<string, number>, from: Record<string, number>): void {
  for (const [r, v] of Object.entries(from)) if (v > (into[r] ?? 0)) into[r] = v
}

/**
 * Merges untrusted states as served by nodes. Throws TallyError
 * STATE_INVALID for a malformed state or marks list. Pure.
 */
export function mergeMarkedStates(states: readonly unknown[]): MarkedMerge {
  const map = new CounterMap('gateway')
  const marks = new Map<string, Mark>()
  for (const s of states) {
    if (typeof s === 'object' && s !== null && !Array.isArray(s) && 'marks' in s) {
      const { marks: list, ...rest } = s as Record<string, unknown>
      if (!Array.isArray(list)) throw new TallyError(ErrorCodes.STATE_INVALID, 'state.marks must be an array')
      for (const t of list) {
        const p = Array.isArray(t) ? readTable(t[1]) : null
        const n = Array.isArray(t) ? readTable(t[2]) : null
        if (!Array.isArray(t) || !isValidName(t[0]) || !p || !n)
          throw new TallyError(
            ErrorCodes.STATE_INVALID,
            'state.marks holds a malformed [name, p, n, ttl] tuple',
          )
        const m = marks.get(t[0]) ?? { p: {}, n: {} }
        raise(m.p, p)
        raise(m.n, n)
        marks.set(t[0], m)
      }
      map.merge(rest)
    } else map.merge(s)
  }
  const under = (name: string) => markedValue(map.counterState(name), marks.get(name) ?? { p: {}, n: {} })
  return {
    map,
    bigValue: (name) => under(name).value,
    exists: (name) => map.has(name) && !under(name).empty,
    names: () => map.names().filter((n) => !marks.has(n) || !under(n).empty),
  }
}

/** `v` as a number; throws TallyError (code VALUE_UNSAFE) naming counter `name` when it is not a safe integer. */
export function safeValue(v: bigint, name: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
    throw new TallyError(
      ErrorCodes.VALUE_UNSAFE,
      `the merged value of counter ${name} is ${v}, not a safe integer`,
    )
  return Number(v)
}
