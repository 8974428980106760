// Canonical views of states for comparisons in tests: key order never matters.
import type { CounterMap, CounterMapState } from '../../src/index.js'

/** Sorted [name, replica, p, n, seq] rows of a CounterMap state: what the digest covers. */
export function entryRows(state: CounterMapState): Array<[string, string, number, number, number]> {
  const rows: Array<[string, string, number, number, number]> = []
  for (const name of Object.keys(state.counters).sort()) {
    const byReplica = state.counters[name] ?? {}
    for (const r of Object.keys(byReplica).sort()) {
      const [p, n, seq] = byReplica[r] ?? [0, 0, 0]
      rows.push([name, r, p, n, seq])
    }
  }
  return rows
}

/** Canonical JSON of a plain record (sorted keys, zero values dropped). */
export function canonRecord(rec: Record<string, number>): string {
  return JSON.stringify(
    Object.keys(rec)
      .filter((k) => rec[k] !== 0)
      .sort()
      .map((k) => [k, rec[k]]),
  )
}

/** Canonical JSON of a whole CounterMap (entries and version summary). */
export function canonMap(m: CounterMap): string {
  const s = m.state()
  return JSON.stringify({ entries: entryRows(s), vv: canonRecord(s.vv) })
}

/** Canonical JSON of only the entries of a CounterMap (ignoring the summary). */
export function canonEntries(m: CounterMap): string {
  return JSON.stringify(entryRows(m.state()))
}

/** Deterministic PRNG (mulberry32): same seed, same sequence. Returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What a wire does to a message: a deep copy through JSON, sharing nothing. */
export function wire<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T
}

/**
 * `rec[key]` if it is an own property, else 0. States are plain objects and
 * `constructor`/`toString` are valid names and ids: `rec[key] ?? 0` would
 * return Object.prototype's functions for them.
 */
export function own(rec: Record<string, number>, key: string): number {
  return Object.hasOwn(rec, key) ? (rec[key] as number) : 0
}
