// Every application of an Idempotency-Key this node knows about, its own and
// those learnt from peers (key records travel with the deltas that carry
// their operation), within retention. Pure: no I/O, no timers; the clock is
// injected. The reconcile rule that decides which application of a
// duplicated key stays is in key-reconcile.ts.

import type { IdempotencyRecord } from '../storage/store.js'
import { KeyIndex } from './key-index.js'

/** An idempotency record that names the CRDT operation `(replica, seq)` that applied it. */
export type KeyRecord = IdempotencyRecord & { replica: string; seq: number; attempt: number }

/** True when `r` carries replica, seq and attempt (records written before keys were replicated do not). */
export function isKeyRecord(r: IdempotencyRecord): r is KeyRecord {
  return typeof r.replica === 'string' && typeof r.seq === 'number' && typeof r.attempt === 'number'
}

// Two records of the same application of a key: the same replica's same operation.
function sameApplication(a: KeyRecord, b: KeyRecord): boolean {
  return a.replica === b.replica && a.seq === b.seq
}

// The key index's part of learning `rec`: `new` (now held under its key), `updated` (the copy
// held is now marked compensated) or `known`. The key is hashed once, for the lookup and the
// insert. A key that gets a second application goes into `multi`.
function learnKey(
  byKey: KeyIndex<KeyRecord | KeyRecord[]>,
  multi: Set<string>,
  rec: KeyRecord,
): 'new' | 'updated' | 'known' {
  const e = byKey.find(rec.key)
  if (e < 0) {
    byKey.add(rec.key, rec)
    return 'new'
  }
  const held = byKey.value(e)
  const old = Array.isArray(held)
    ? held.find((r) => sameApplication(r, rec))
    : sameApplication(held, rec)
      ? held
      : undefined
  if (old) {
    if (rec.compensated === true && old.compensated !== true) {
      old.compensated = true
      return 'updated'
    }
    return 'known'
  }
  if (Array.isArray(held)) held.push(rec)
  else {
    byKey.setValue(e, [held, rec])
    multi.add(rec.key)
  }
  return 'new'
}

/** Outcome of {@link KeyLedger.add}. `updated`: known, and this copy newly says it was compensated. */
export type AddResult = 'new' | 'updated' | 'known' | 'expired'

// Records of one replica sorted by seq (lazily: sorted on the next read).
// Records dropped since stay until compaction (`dead` counts them) and are
// skipped on read: a record is held iff the key index still holds it.
interface ReplicaIndex {
  recs: KeyRecord[]
  sorted: boolean
  dead: number
}

/**
 * The key ledger. Records are identified by `(key, replica, seq)`; a key
 * normally has one application, several when a retry reached another replica
 * before that replica learnt the first. Retention: a record is dropped once
 * `at <= now - ttlMs`, or when more than `maxRecords` are held (oldest
 * learnt first). Records learnt out of `at` order may linger past the
 * window, but lookups never return an expired record.
 */
export class KeyLedger {
  readonly #ttl: number
  readonly #max: number
  readonly #now: () => number
  // A key's applications: its one record (almost always), or several in the order learnt.
  // The records themselves, no wrapper object: at 100 000s of keys, one object less each.
  // Open-addressing tables over columns (key-index.ts): no V8 Map entry per key, and no growth
  // that re-places hundreds of thousands of keys at once.
  readonly #byKey = new KeyIndex<KeyRecord | KeyRecord[]>()
  // The keys held with two or more applications, exactly (rare: a retry that reached another
  // replica before it learnt the first application).
  readonly #multi = new Set<string>()
  readonly #byReplica = new Map<string, ReplicaIndex>()
  // Arrival order, for expiry and the cap; `#head` is the first held position
  // (records are dropped from the head only, so every record from it on is held).
  #queue: KeyRecord[] = []
  #head = 0
  #size = 0

  /** `ttlMs` retention (ms, from each record's `at`), `maxRecords` cap; `now` in ms since epoch. */
  constructor(opts: { ttlMs: number; maxRecords: number; now?: () => number }) {
    if (!(opts.ttlMs >= 0) || !(opts.maxRecords >= 1)) throw new RangeError('ttlMs >= 0 and maxRecords >= 1')
    this.#ttl = opts.ttlMs
    this.#max = opts.maxRecords
    this.#now = opts.now ?? Date.now
  }

  /** Live records held. */
  get size(): number {
    return this.#size
  }

  /**
   * Learns one record. `new`: it was not known (the ledger keeps this very
   * object); `updated`: known, and the copy held is now marked compensated;
   * `known`: nothing new; `expired`: outside retention, ignored. O(1)
   * amortised (plus the key's application count).
   */
  add(rec: KeyRecord): AddResult {
    this.expire()
    if (rec.at <= this.#cutoff()) return 'expired'
    const r = this.#learn(rec)
    if (r === 'new') this.expire()
    return r
  }

  /**
   * Learns a run of records (a recovery's, e.g.): the same state as
   * {@link add} of each in turn at one instant (the clock is read once for
   * the run, not per record), and, like `add`, keeps each new record object
   * itself. O(records), plus the applications of each key.
   */
  addAll(records: readonly KeyRecord[]): void {
    this.expire()
    const cutoff = this.#cutoff()
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as KeyRecord
      if (rec.at <= cutoff) continue
      // Past the cap, the oldest go now, as add's own expiry would drop them.
      if (this.#learn(rec) === 'new' && this.#size > this.#max) this.expire()
    }
  }

  // add() of a record inside retention, without the expiry around it (its key hashed once, for
  // the lookup and the insert).
  #learn(rec: KeyRecord): AddResult {
    const r = learnKey(this.#byKey, this.#multi, rec)
    if (r !== 'new') return r
    let idx = this.#byReplica.get(rec.replica)
    if (!idx) {
      idx = { recs: [], sorted: true, dead: 0 }
      this.#byReplica.set(rec.replica, idx)
    }
    const last = idx.recs[idx.recs.length - 1]
    if (last && last.seq > rec.seq) idx.sorted = false
    idx.recs.push(rec)
    this.#queue.push(rec)
    this.#size++
    return 'new'
  }

  /** How many applications of `key` are held, expired ones not yet dropped included (0 when none). O(1). */
  held(key: string): number {
    const held = this.#byKey.get(key)
    return held === undefined ? 0 : Array.isArray(held) ? held.length : 1
  }

  /** The first live application of `key` learnt, as `applications(key)[0]` without the arrays. */
  firstApplication(key: string): KeyRecord | undefined {
    const held = this.#byKey.get(key)
    if (held === undefined) return undefined
    const cutoff = this.#cutoff()
    if (!Array.isArray(held)) return held.at > cutoff ? held : undefined
    for (const r of held) if (r.at > cutoff) return r
    return undefined
  }

  /** The first live application of `key` by `replica` learnt (this node's own answer to a retry, e.g.). O(applications of the key). */
  applicationBy(key: string, replica: string): KeyRecord | undefined {
    const held = this.#byKey.get(key)
    if (held === undefined) return undefined
    const cutoff = this.#cutoff()
    if (!Array.isArray(held)) return held.replica === replica && held.at > cutoff ? held : undefined
    for (const r of held) if (r.replica === replica && r.at > cutoff) return r
    return undefined
  }

  /** Live records of `replica` held (after dropping those past retention). O(1) amortised. */
  heldBy(replica: string): number {
    this.expire()
    const idx = this.#byReplica.get(replica)
    return idx ? idx.recs.length - idx.dead : 0
  }

  /** Live applications of `key` (usually 0 or 1), in the order learnt. */
  applications(key: string): KeyRecord[] {
    const held = this.#byKey.get(key)
    if (held === undefined) return []
    const cutoff = this.#cutoff()
    if (!Array.isArray(held)) return held.at > cutoff ? [held] : []
    return held.filter((r) => r.at > cutoff)
  }

  /**
   * Live records of `replica` with `after < seq <= upTo`, by seq: exactly the
   * records of the operations `CounterMap.deltaFor(replica, after)` covers.
   * O(log n + answer) once sorted.
   */
  since(replica: string, after: number, upTo = Number.POSITIVE_INFINITY): KeyRecord[] {
    const idx = this.#byReplica.get(replica)
    if (!idx || after >= upTo) return []
    this.#prepare(idx)
    const out: KeyRecord[] = []
    const cutoff = this.#cutoff()
    const deadOnes = idx.dead > 0
    for (let i = upperBound(idx.recs, after); i < idx.recs.length; i++) {
      const r = idx.recs[i] as KeyRecord
      if (r.seq > upTo) break
      if (r.at > cutoff && (!deadOnes || this.#holds(r))) out.push(r)
    }
    return out
  }

  /**
   * What a holder of version summary `has` lacks: for every replica r, the
   * records with seq > has(r), the same rule as `CounterMap.deltaSince`. Own
   * records (`own`) above `ownDurable` are held back, like own entries.
   * O(replicas + log n + answer).
   */
  select(has: (replica: string) => number, own: string, ownDurable: number): KeyRecord[] {
    let out: KeyRecord[] = []
    for (const r of this.#byReplica.keys()) {
      // concat, not push(...): an answer can hold far more records than a call has argument slots.
      out = out.concat(this.since(r, has(r), r === own ? ownDurable : Number.POSITIVE_INFINITY))
    }
    return out
  }

  /** Every live record, oldest learnt first (for snapshots). O(n). */
  records(): KeyRecord[] {
    this.expire()
    const cutoff = this.#cutoff()
    const out: KeyRecord[] = []
    for (let i = this.#head; i < this.#queue.length; i++) {
      const r = this.#queue[i] as KeyRecord
      if (r.at > cutoff) out.push(r)
    }
    return out
  }

  /** Keys with two or more live applications (checked once after recovery). O(keys held with two or more). */
  duplicatedKeys(): string[] {
    const out: string[] = []
    for (const k of this.#multi) if (this.applications(k).length > 1) out.push(k)
    return out
  }

  /** How many keys are held with two or more applications, expired ones not yet dropped included. O(1). */
  get multiApplied(): number {
    return this.#multi.size
  }

  /** Drops records past retention or beyond the cap, oldest learnt first. Amortised O(1) per record. */
  expire(): void {
    const cutoff = this.#cutoff()
    while (this.#head < this.#queue.length) {
      const r = this.#queue[this.#head] as KeyRecord
      if (r.at > cutoff && this.#size <= this.#max) break
      this.#queue[this.#head] = undefined as unknown as KeyRecord
      this.#head++
      this.#drop(r)
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  #cutoff(): number {
    return this.#now() - this.#ttl
  }

  // Forgets record `r` (at the head of the queue, just taken off it).
  #drop(r: KeyRecord): void {
    this.#size--
    const e = this.#byKey.find(r.key)
    const held = e < 0 ? undefined : this.#byKey.value(e)
    if (held === r) this.#byKey.remove(e)
    else if (Array.isArray(held)) {
      const rest = held.filter((x) => x !== r)
      if (rest.length > 1) this.#byKey.setValue(e, rest)
      else {
        if (rest.length === 1) this.#byKey.setValue(e, rest[0] as KeyRecord)
        else this.#byKey.remove(e)
        this.#multi.delete(r.key)
      }
    }
    const idx = this.#byReplica.get(r.replica)
    if (idx) {
      idx.dead++
      if (idx.dead === idx.recs.length) this.#byReplica.delete(r.replica)
    }
  }

  // True when record `r` (learnt before) is still held: the key index has this very object.
  #holds(r: KeyRecord): boolean {
    const held = this.#byKey.get(r.key)
    return held === r || (Array.isArray(held) && held.includes(r))
  }

  // Sorts when needed and drops the records no longer held once they are half the index.
  #prepare(idx: ReplicaIndex): void {
    if (idx.dead > 64 && idx.dead * 2 > idx.recs.length) {
      idx.recs = idx.recs.filter((r) => this.#holds(r))
      idx.dead = 0
    }
    if (!idx.sorted) {
      idx.recs.sort((a, b) => a.seq - b.seq)
      idx.sorted = true
    }
  }
}

// First index whose seq is > x (records sorted by seq).
function upperBound(recs: readonly KeyRecord[], x: number): number {
  let lo = 0
  let hi = recs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((recs[mid] as KeyRecord).seq <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}
