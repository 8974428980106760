import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { readAhead } from './read-ahead.js'
import { WAL_END, WAL_PREFIX } from './record-codec.js'
import { StoreError, StoreErrorCodes } from './store-errors.js'

/**
 * The slice of the abstract-level API the store uses, with string keys and
 * Uint8Array values: satisfied by `level` (LevelDB, production) and
 * `memory-level` (fast tests). `compactRange` exists on LevelDB only.
 */
export interface WalDb {
  open(): Promise<void>
  close(): Promise<void>
  get(key: string): Promise<Uint8Array | undefined>
  put(key: string, value: Uint8Array, opts?: { sync?: boolean }): Promise<void>
  batch(
    ops: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>,
    opts?: { sync?: boolean },
  ): Promise<void>
  clear(range: { gte?: string; gt?: string; lte?: string; lt?: string }): Promise<void>
  iterator(range: { gte?: string; lt?: string; highWaterMarkBytes?: number; fillCache?: boolean }): {
    nextv(size: number): Promise<Array<[string, Uint8Array]>>
    close(): Promise<void>
  }
  /** The keys of a range, without their values (LevelDB reads the blocks but copies no value out). */
  keys(range: { gte?: string; lt?: string; fillCache?: boolean }): {
    nextv(size: number): Promise<string[]>
    close(): Promise<void>
  }
  compactRange?(start: string, end: string): Promise<void>
}

/** Re-export point so callers can type their own `openDb`. */
export type OpenWalDb = (location: string) => WalDb

/**
 * Every WAL entry, ascending, in chunks (one await per chunk, not per entry:
 * recovery reads millions), the next chunk read while the caller works on one.
 */
export async function* walEntries(db: WalDb): AsyncGenerator<Array<[string, Uint8Array]>> {
  // A large read-ahead: recovery reads the whole log once, and small reads cost a thread-pool round trip each.
  const it = db.iterator({ gte: WAL_PREFIX, lt: WAL_END, highWaterMarkBytes: 1 << 20, fillCache: false })
  try {
    // The next 1 000 entries are read while the scan works on these.
    yield* readAhead(it, 1000)
  } finally {
    await it.close()
  }
}

/**
 * Creates `dir` if needed and opens the database in `<dir>/db`. Rejects with
 * StoreError TALLY_DATA_DIR_LOCKED when LevelDB's lock is held by another
 * process (or another open store), TALLY_DATA_DIR_UNREADABLE otherwise.
 */
export async function openAt(dir: string, openDb: (location: string) => WalDb): Promise<WalDb> {
  try {
    await mkdir(dir, { recursive: true })
    const db = openDb(join(dir, 'db'))
    await db.open()
    return db
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause
    if (cause?.code === 'LEVEL_LOCKED' || (err as { code?: unknown }).code === 'LEVEL_LOCKED') {
      throw new StoreError(
        StoreErrorCodes.DATA_DIR_LOCKED,
        `data dir ${dir} is locked: another tally-node process is using it (stop it, or pass a different --data-dir)`,
        { path: dir, cause: err },
      )
    }
    throw new StoreError(
      StoreErrorCodes.DATA_DIR_UNREADABLE,
      `cannot open data dir ${dir}: ${msg(cause ?? err)}`,
      {
        path: dir,
        cause: err,
      },
    )
  }
}

/** LevelDB (`level`) with utf8 keys and Uint8Array values. */
export function defaultOpenDb(location: string): WalDb {
  return new Level<string, Uint8Array>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  }) as unknown as WalDb
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
