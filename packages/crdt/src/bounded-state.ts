// The tables of a bounded counter (increments, decrements, transfers of
// rights), reading them from untrusted input, the exact rights arithmetic
// over them, and the consistency rule every state must meet.
import { type Counts, countsToObject, digestTables, readCounts } from './counts.js'
import { ErrorCodes, TallyError } from './errors.js'
import { describe, guard, isPlainObject, isValidReplicaId, unknownKey } from './validate.js'

const MAX = Number.MAX_SAFE_INTEGER

/**
 * Serialised bounded counter. Plain, JSON- and msgpack-safe.
 * - `p[i]`: replica i's increment total (rights it created),
 * - `n[i]`: replica i's decrement total (rights it spent),
 * - `r[i][j]`: total rights replica i gave replica j (never `r[i][i]`).
 * All grow only; zero entries are omitted.
 */
export interface BoundedCounterState {
  p: Record<string, number>
  n: Record<string, number>
  r: Record<string, Record<string, number>>
}

/**
 * What a bounded counter operation returns for replication: a part of the
 * state (missing tables are empty). Apply it with `applyDelta` (or `merge`)
 * anywhere, any number of times, in any order.
 */
export type BoundedCounterDelta = Partial<BoundedCounterState>

/** A bounded counter's tables in memory. `r`: giver → receiver → total; no empty inner maps. */
export interface BoundedTables {
  p: Counts
  n: Counts
  r: Map<string, Counts>
}

/** Fresh empty tables. */
export function emptyTables(): BoundedTables {
  return { p: new Map(), n: new Map(), r: new Map() }
}

type ReadCode = typeof ErrorCodes.STATE_INVALID | typeof ErrorCodes.DELTA_INVALID

/**
 * Reads an untrusted state or delta `{ p?, n?, r? }` (nothing else) into
 * fresh tables, and checks that it is consistent on its own
 * ({@link checkConsistent}). Throws `code` whatever the input does (throwing
 * getters and proxies included); never returns partial data.
 */
export function readBounded(x: unknown, code: ReadCode, what: string): BoundedTables {
  return guard(code, what, () => {
    try {
      if (!isPlainObject(x)) throw new TallyError(code, `${what} must be an object, got ${describe(x)}`)
      const extra = unknownKey(x, ['p', 'n', 'r'])
      if (extra !== undefined) throw new TallyError(code, `${what} has an unknown field ${describe(extra)}`)
      const p: unknown = x.p
      const n: unknown = x.n
      const r: unknown = x.r
      const t: BoundedTables = {
        p: p === undefined ? new Map() : readCounts(p, `${what}.p`),
        n: n === undefined ? new Map() : readCounts(n, `${what}.n`),
        r: r === undefined ? new Map() : readTransfers(r, `${what}.r`),
      }
      checkConsistent(t, replicasOf(t), code, what)
      return t
    } catch (err) {
      // readCounts speaks of states; a delta's problems carry the delta code.
      if (err instanceof TallyError && err.code !== code) throw new TallyError(code, err.message)
      throw err
    }
  })
}

function readTransfers(x: unknown, what: string): Map<string, Counts> {
  if (!isPlainObject(x))
    throw new TallyError(ErrorCodes.STATE_INVALID, `${what} must be an object, got ${describe(x)}`)
  const out = new Map<string, Counts>()
  for (const from of Object.keys(x)) {
    if (!isValidReplicaId(from))
      throw new TallyError(ErrorCodes.STATE_INVALID, `${what} has an invalid replica id ${describe(from)}`)
    const row = readCounts(x[from], `${what}[${describe(from)}]`)
    if (row.has(from))
      throw new TallyError(
        ErrorCodes.STATE_INVALID,
        `${what}[${describe(from)}] moves rights from a replica to itself`,
      )
    if (row.size > 0) out.set(from, row)
  }
  return out
}

function get(t: Counts, k: string): number {
  return t.get(k) ?? 0
}

/**
 * Exact rights of `replica` in tables `t`:
 * p[i] + Σ_j r[j][i] − Σ_j r[i][j] − n[i], as a bigint. O(replicas).
 * Pure; never throws.
 */
export function rightsBig(t: BoundedTables, replica: string): bigint {
  const [plus, minus] = rightsTerms(t, replica)
  if (plus <= MAX && minus <= MAX) return BigInt(plus - minus)
  let big = BigInt(get(t.p, replica)) - BigInt(get(t.n, replica))
  for (const [from, row] of t.r) {
    if (from === replica) for (const v of row.values()) big -= BigInt(v)
    else big += BigInt(get(row, replica))
  }
  return big
}

/**
 * Float sums (what `replica` gained, what it lost). Every term is a
 * non-negative safe integer, so each sum is exact while ≤ 2^53−1 and
 * > 2^53−1 exactly when the true sum is.
 */
function rightsTerms(t: BoundedTables, replica: string): [plus: number, minus: number] {
  let plus = get(t.p, replica)
  let minus = get(t.n, replica)
  for (const [from, row] of t.r) {
    if (from === replica) for (const v of row.values()) minus += v
    else plus += get(row, replica)
  }
  return [plus, minus]
}

/** Every replica id that appears in `t` (increments, decrements, either end of a transfer), unsorted. */
export function replicasOf(t: BoundedTables): Set<string> {
  const out = new Set<string>([...t.p.keys(), ...t.n.keys()])
  for (const [from, row] of t.r) {
    out.add(from)
    for (const to of row.keys()) out.add(to)
  }
  return out
}

/**
 * Throws `code` if some replica of `ids` has negative rights in `t`.
 * A state that comes from one history never has: a replica spends or gives
 * away only rights it holds in its own view, and every state that shows a
 * replica's decrements or outgoing transfers also shows (at least) the
 * increments and incoming transfers it held then. O(|ids| × replicas).
 */
export function checkConsistent(t: BoundedTables, ids: Iterable<string>, code: ReadCode, what: string): void {
  for (const id of ids) {
    const rights = rightsBig(t, id)
    if (rights < 0n) {
      throw new TallyError(
        code,
        `${what} leaves replica ${describe(id)} with negative rights (${rights}): it does not come from one history (a replica id reused after its state was lost?)`,
      )
    }
  }
}

/** Plain copy of the tables (zero entries and empty rows omitted). O(entries). */
export function tablesToState(t: BoundedTables): BoundedCounterState {
  const r: BoundedCounterState['r'] = {}
  for (const [from, row] of t.r) r[from] = countsToObject(row)
  return { p: countsToObject(t.p), n: countsToObject(t.n), r }
}

/** Order-independent digest of the tables: equal iff the states are equal (up to a 2^-64 collision). O(entries). */
export function digestBounded(t: BoundedTables): string {
  // Replica ids hold no control characters: "from\0to" names one pair unambiguously.
  const flat: Counts = new Map()
  for (const [from, row] of t.r) for (const [to, v] of row) flat.set(`${from}\u0000${to}`, v)
  return digestTables([
    ['p', t.p],
    ['n', t.n],
    ['r', flat],
  ])
}

/** True when the two tables hold exactly the same entries. O(entries). */
export function tablesEqual(a: BoundedTables, b: BoundedTables): boolean {
  const same = (x: Counts, y: Counts) => x.size === y.size && [...x].every(([k, v]) => y.get(k) === v)
  if (!same(a.p, b.p) || !same(a.n, b.n) || a.r.size !== b.r.size) return false
  for (const [from, row] of a.r) {
    const other = b.r.get(from)
    if (!other || !same(row, other)) return false
  }
  return true
}
