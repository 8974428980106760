// Durable rate-limit buckets. A bucket tuple is state (one replica's count in
// one window, merged by maximum), so the store keeps the latest count per
// (limit, window, replica) under one key and overwrites it: the key set IS
// the snapshot, there is no log to replay or compact. Keys sort by the time
// the bucket stops mattering, so dropping every dead bucket is one range
// delete and recovery reads only live ones. Writes are group-committed (one
// LevelDB batch, one fsync, per turn of writes). Layout in the node README,
// "Rate limits".

import { GroupCommit } from '../storage/group-commit.js'
import type { WalDb } from '../storage/wal-db.js'
import { type BucketTuple, isBucketTuple } from '../wire/limit-messages.js'

/** Where the buckets live, and what the node needs from them. */
export interface LimitStore {
  /** Every stored tuple whose bucket is still needed at `horizonMs` (see {@link deadAt}). Corrupt rows are skipped and counted. */
  load(horizonMs: number): Promise<{ tuples: BucketTuple[]; skipped: number }>
  /**
   * Stores tuples; resolves once durable. A tuple replaces the stored count of
   * its bucket and replica: callers write each row's counts in increasing
   * order (the table reports only growth, and writes keep their order).
   */
  write(tuples: readonly BucketTuple[]): Promise<void>
  /** Deletes every bucket that stopped mattering before `horizonMs`. */
  drop(horizonMs: number): Promise<void>
  /** Waits for writes in flight. Never rejects. */
  settled(): Promise<void>
}

/** Key prefix of bucket rows (beside the WAL's `w:` and the snapshot's `c:`), and its end. */
export const LIMIT_PREFIX = 'l:'
const LIMIT_END = 'l;'

/**
 * When a bucket stops mattering: the end of the window after it (from then
 * no sliding estimate reads it). Keys sort by this, as 16 decimal digits.
 */
export function deadAt(t: BucketTuple): number {
  return t[2] + 2 * t[1]
}

const pad = (n: number): string => String(n).padStart(16, '0')

/** The row key of a tuple: dead time, window, start, then name and replica (NUL-separated: names have no NUL). */
export function limitKey(t: BucketTuple): string {
  return `${LIMIT_PREFIX}${pad(deadAt(t))}:${t[1]}:${t[2]}:${t[0]}\u0000${t[3]}`
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

/** Buckets in the node's LevelDB (the database the WAL lives in). */
export class LevelLimitStore implements LimitStore {
  readonly #db: WalDb
  readonly #sync: boolean
  readonly #commit: GroupCommit<BucketTuple>

  /** `sync`: fsync each batch (the store's `sync` durability). Does no I/O. */
  constructor(db: WalDb, sync: boolean) {
    this.#db = db
    this.#sync = sync
    this.#commit = new GroupCommit((items) => this.#writeBatch(items))
  }

  async load(horizonMs: number): Promise<{ tuples: BucketTuple[]; skipped: number }> {
    const it = this.#db.iterator({ gte: `${LIMIT_PREFIX}${pad(horizonMs)}`, lt: LIMIT_END })
    const tuples: BucketTuple[] = []
    let skipped = 0
    try {
      for (;;) {
        const rows = await it.nextv(1000)
        if (rows.length === 0) break
        for (const [k, v] of rows) {
          const t = parse(v)
          if (t && limitKey(t) === k) tuples.push(t)
          else skipped++
        }
      }
    } finally {
      await it.close()
    }
    return { tuples, skipped }
  }

  write(tuples: readonly BucketTuple[]): Promise<void> {
    return Promise.all(tuples.map((t) => this.#commit.submit(t))).then(() => {})
  }

  drop(horizonMs: number): Promise<void> {
    return this.#commit.barrier(() =>
      this.#db.clear({ gte: LIMIT_PREFIX, lt: `${LIMIT_PREFIX}${pad(horizonMs)}` }),
    )
  }

  settled(): Promise<void> {
    return this.#commit.flush()
  }

  #writeBatch(items: BucketTuple[]): Promise<void> {
    // Within a batch the highest count of a row wins (counts only grow).
    const rows = new Map<string, BucketTuple>()
    for (const t of items) {
      const k = limitKey(t)
      const had = rows.get(k)
      if (!had || had[4] < t[4]) rows.set(k, t)
    }
    const ops = [...rows].map(([key, t]) => ({
      type: 'put' as const,
      key,
      value: enc.encode(JSON.stringify(t)),
    }))
    return this.#db.batch(ops, { sync: this.#sync })
  }
}

function parse(v: Uint8Array): BucketTuple | undefined {
  try {
    const t: unknown = JSON.parse(dec.decode(v))
    return isBucketTuple(t) ? t : undefined
  } catch {
    return undefined
  }
}

/** Buckets in memory only (a node on a MemoryStore: tests). Same contract, nothing survives the process. */
export class MemoryLimitStore implements LimitStore {
  readonly rows = new Map<string, BucketTuple>()

  async load(horizonMs: number): Promise<{ tuples: BucketTuple[]; skipped: number }> {
    return { tuples: [...this.rows.values()].filter((t) => deadAt(t) >= horizonMs), skipped: 0 }
  }

  async write(tuples: readonly BucketTuple[]): Promise<void> {
    for (const t of tuples) {
      const k = limitKey(t)
      const had = this.rows.get(k)
      if (!had || had[4] < t[4]) this.rows.set(k, t)
    }
  }

  async drop(horizonMs: number): Promise<void> {
    for (const [k, t] of this.rows) if (deadAt(t) < horizonMs) this.rows.delete(k)
  }

  async settled(): Promise<void> {}
}
