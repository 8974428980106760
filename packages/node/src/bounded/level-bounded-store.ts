// The durable BoundedStore: a small write-ahead log in its own LevelDB
// (`<dataDir>/bounded/db`), group-committed like the counters' log, with
// checksummed records (storage/record-codec.ts frames) and a snapshot that
// replaces the records it covers.
//
// Keys: `b:<seq, 16 digits>` one record per change, `bsnap` the snapshot
// `{covered, states, idem}` (records at or below `covered` are in it).

import { join } from 'node:path'
import type { BoundedCounterState } from '@tally/crdt'
import type { Logger } from 'pino'
import { GroupCommit } from '../storage/group-commit.js'
import { decodeFrame, encodeFrame, readIdem } from '../storage/record-codec.js'
import { StoreError, StoreErrorCodes } from '../storage/store-errors.js'
import { defaultOpenDb, openAt, type WalDb } from '../storage/wal-db.js'
import type { BoundedRecord, BoundedRecovered, BoundedSnapshot, BoundedStore } from './bounded-store.js'

const PREFIX = 'b:'
const END = 'b;'
const SNAP = 'bsnap'

function keyOf(seq: number): string {
  return `${PREFIX}${String(seq).padStart(16, '0')}`
}

/** Options of {@link LevelBoundedStore}. */
export interface LevelBoundedStoreOptions {
  /** The node's data dir; the log lives in `<dataDir>/bounded/db`. */
  dataDir: string
  /** `sync` (default): a local record resolves after fsync. `async`: after the OS has it. */
  durability?: 'sync' | 'async'
  /** `needsSnapshot()` turns true after this many records since the last snapshot (default 10 000). */
  snapshotEvery?: number
  logger?: Logger
  /** Opens the key-value store; default LevelDB. Tests may pass memory-level. */
  openDb?: (location: string) => WalDb
}

interface Item {
  record: BoundedRecord
  local: boolean
}

/** LevelDB-backed {@link BoundedStore}. Does no I/O until `open`. */
export class LevelBoundedStore implements BoundedStore {
  readonly #dir: string
  readonly #sync: boolean
  readonly #every: number
  readonly #logger: Logger | undefined
  readonly #openDb: (location: string) => WalDb
  #db: WalDb | null = null
  #queue: GroupCommit<Item> | null = null
  #next = 1
  #since = 0
  #failed: StoreError | null = null
  #closing: Promise<void> | null = null

  constructor(o: LevelBoundedStoreOptions) {
    this.#dir = join(o.dataDir, 'bounded')
    this.#sync = (o.durability ?? 'sync') === 'sync'
    this.#every = o.snapshotEvery ?? 10_000
    this.#logger = o.logger
    this.#openDb = o.openDb ?? defaultOpenDb
  }

  /**
   * Opens (and locks) the log and reads it: snapshot, then every later record.
   * Rejects with StoreError TALLY_DATA_DIR_LOCKED / TALLY_DATA_DIR_UNREADABLE,
   * or TALLY_WAL_CORRUPT when a record or the snapshot fails its checksum
   * (skipping it could hand out rights twice).
   */
  async open(): Promise<BoundedRecovered> {
    const db = await openAt(this.#dir, this.#openDb)
    try {
      const out: BoundedRecovered = { states: [], idempotency: [], warnings: [] }
      let covered = 0
      const snapRaw = await db.get(SNAP)
      if (snapRaw !== undefined) {
        const snap = this.#decode(snapRaw, SNAP)
        const v = snap as { covered?: unknown; states?: unknown; idem?: unknown }
        if (typeof v.covered !== 'number' || !Array.isArray(v.states) || !Array.isArray(v.idem))
          throw this.#corrupt(SNAP, 'unexpected shape')
        covered = v.covered
        for (const e of v.states) out.states.push(readEntry(e, SNAP, this))
        for (const r of v.idem) {
          const rec = readIdem(r)
          if (rec) out.idempotency.push(rec)
        }
      }
      let last = covered
      const it = db.iterator({ gte: PREFIX, lt: END })
      try {
        for (;;) {
          const rows = await it.nextv(1000)
          if (rows.length === 0) break
          for (const [key, value] of rows) {
            const seq = Number(key.slice(PREFIX.length))
            if (seq <= covered) continue
            const [name, state, idem] = this.#decode(value, key) as [unknown, unknown, unknown]
            out.states.push(readEntry([name, state], key, this))
            const rec = idem === undefined ? undefined : readIdem(idem)
            if (rec) out.idempotency.push(rec)
            last = Math.max(last, seq)
            this.#since++
          }
        }
      } finally {
        await it.close()
      }
      this.#db = db
      this.#next = last + 1
      this.#queue = new GroupCommit((items) => this.#write(items))
      return out
    } catch (err) {
      await db.close().catch(() => {})
      throw err
    }
  }

  #decode(bytes: Uint8Array, key: string): unknown {
    const d = decodeFrame(bytes)
    if (!d.ok) throw this.#corrupt(key, d.reason)
    return d.value
  }

  /** A StoreError TALLY_WAL_CORRUPT naming the damaged entry (internal; exposed for readEntry). */
  corrupt(key: string, reason: string): StoreError {
    return this.#corrupt(key, reason)
  }

  #corrupt(key: string, reason: string): StoreError {
    return new StoreError(
      StoreErrorCodes.WAL_CORRUPT,
      `bounded-counter log ${this.#dir}: entry ${key} is damaged (${reason}); refusing to start`,
      { path: this.#dir },
    )
  }

  append(record: BoundedRecord, local: boolean): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    if (!this.#queue || this.#closing) return Promise.reject(closed())
    return this.#queue.submit({ record, local })
  }

  async #write(items: Item[]): Promise<void> {
    if (this.#failed) throw this.#failed
    const db = this.#db!
    const ops = items.map((it, i) => ({
      type: 'put' as const,
      key: keyOf(this.#next + i),
      value: encodeFrame(
        it.record.idem
          ? [it.record.name, it.record.state, it.record.idem]
          : [it.record.name, it.record.state],
      ),
    }))
    try {
      await db.batch(ops, { sync: this.#sync && items.some((it) => it.local) })
    } catch (err) {
      this.#failed = new StoreError(
        StoreErrorCodes.STORE_FAILED,
        `bounded-counter log write failed: ${(err as Error).message}`,
        { path: this.#dir, cause: err },
      )
      this.#logger?.error({ err, dir: this.#dir }, 'bounded-counter log write failed; store stopped')
      throw this.#failed
    }
    this.#next += items.length
    this.#since += items.length
  }

  snapshot(read: () => BoundedSnapshot): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    if (!this.#queue || this.#closing) return Promise.reject(closed())
    return this.#queue.barrier(async () => {
      if (this.#failed) throw this.#failed
      const db = this.#db!
      const covered = this.#next - 1
      const { states, idempotency } = read()
      await db.batch(
        [{ type: 'put', key: SNAP, value: encodeFrame({ covered, states, idem: idempotency }) }],
        {
          sync: true,
        },
      )
      this.#since = 0
      await db.clear({ gte: PREFIX, lte: keyOf(covered) })
    })
  }

  needsSnapshot(): boolean {
    return this.#since >= this.#every
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const db = this.#db
      if (!db) return
      await this.#queue!.flush()
      await db.close()
      this.#db = null
      this.#queue = null
    })()
    return this.#closing
  }
}

function readEntry(e: unknown, key: string, store: LevelBoundedStore): [string, BoundedCounterState] {
  if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'object' || e[1] === null)
    throw store.corrupt(key, 'unexpected shape')
  // The state is validated in full by BoundedCounter when merged.
  return [e[0], e[1] as BoundedCounterState]
}

function closed(): StoreError {
  return new StoreError(StoreErrorCodes.STORE_CLOSED, 'bounded-counter store is not open')
}
