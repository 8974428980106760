// The node's bounded counters by name, next to (and independent of) the plain
// counters of the CounterMap: the same name may name one of each. Keeps a
// cached digest of all of them for anti-entropy. Pure in-memory state: no
// I/O, no timers.

import { createHash } from 'node:crypto'
import { BoundedCounter } from '@tally/crdt'

/** Bounded counters of one replica, by name. */
export class BoundedMap {
  /** This node's CRDT replica id: its decrements spend this replica's rights. */
  readonly replica: string
  readonly #counters = new Map<string, BoundedCounter>()
  #digest: string | undefined

  /** Throws TALLY_REPLICA_INVALID (TallyError) for a bad replica id. */
  constructor(replica: string) {
    this.replica = replica
    new BoundedCounter(replica) // validates the id once, here
  }

  /** The counter `name`, or undefined when this node has never seen it. The name is not validated. */
  get(name: string): BoundedCounter | undefined {
    return this.#counters.get(name)
  }

  /** The counter `name`, created empty if unknown. The caller has validated `name`. */
  ensure(name: string): BoundedCounter {
    let c = this.#counters.get(name)
    if (!c) {
      c = new BoundedCounter(this.replica)
      this.#counters.set(name, c)
    }
    return c
  }

  /**
   * Merges an untrusted whole state (or delta) of counter `name`. Returns
   * true if anything changed. Throws TALLY_DELTA_INVALID (TallyError) for a
   * malformed state or one inconsistent with what is held (nothing changes);
   * an unknown counter is then not created either.
   */
  merge(name: string, state: unknown): boolean {
    const known = this.#counters.get(name)
    const c = known ?? new BoundedCounter(this.replica)
    const changed = c.applyDelta(state)
    if (!known && changed) this.#counters.set(name, c)
    if (changed) this.touch()
    return changed
  }

  /** Marks the digest stale (call after any local operation). */
  touch(): void {
    this.#digest = undefined
  }

  /** Names of every counter held, in insertion order. */
  names(): string[] {
    return [...this.#counters.keys()]
  }

  /** Number of counters held. */
  get size(): number {
    return this.#counters.size
  }

  /**
   * A hex digest equal on two nodes iff they hold the same counters in the
   * same states (up to a hash collision). Cached until the next change;
   * O(counters × entries) to recompute.
   */
  digest(): string {
    this.#digest ??= digestOf(this.summary())
    return this.#digest
  }

  /** [name, digest of that counter's state] for every counter held, sorted by name. */
  summary(): Array<[string, string]> {
    const out: Array<[string, string]> = []
    for (const [name, c] of this.#counters) out.push([name, hexDigest(c.digest())])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }
}

/** Hex digest of a sorted [name, digest] list (what {@link BoundedMap.digest} returns for that content). */
export function digestOf(summary: ReadonlyArray<readonly [string, string]>): string {
  const h = createHash('sha256')
  for (const [name, d] of summary) h.update(`${name}\u0000${d}\n`)
  return h.digest('hex').slice(0, 32)
}

// BoundedCounter digests are `count:hex`; the wire carries hex only.
function hexDigest(d: string): string {
  return createHash('sha256').update(d).digest('hex').slice(0, 32)
}
