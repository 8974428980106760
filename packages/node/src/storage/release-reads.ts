// After recovery: give back what only recovery needed from LevelDB. LevelDB
// keeps every table file it opened in its table cache for as long as the
// database is open, and on 64-bit builds reads each through an mmap of the
// whole file (up to 1000 maps: `kDefaultMmapLimit` in util/env_posix.cc; the
// table cache holds at least 64 tables whatever `max_open_files` says). The
// snapshot read at start opens every table it spans, so a node started on a
// large snapshot kept those maps resident (file-backed, clean pages, but
// counted in RSS) until compaction removed the files. Closing the database
// frees its table cache and unmaps the files; reopening it reads only the
// manifest and LevelDB's own small log, and later reads map the few tables
// they touch.

import { StoreError, StoreErrorCodes } from './store-errors.js'
import { openAt, type WalDb } from './wal-db.js'

/**
 * Closes and reopens `db`, the same handle (whoever holds it keeps a working
 * reference), so that LevelDB drops the tables recovery opened. Call it only
 * while nothing reads or writes the database (recovery done, before the node
 * serves): between the close and the open every call on it fails. Anything
 * written before is kept (LevelDB replays its own log at open). Rejects with
 * StoreError TALLY_DATA_DIR_LOCKED (another process took the data dir in
 * between) or TALLY_DATA_DIR_UNREADABLE; the handle is then closed.
 */
export async function reopenForServing(db: WalDb, dataDir: string): Promise<void> {
  try {
    await db.close()
  } catch (err) {
    throw new StoreError(
      StoreErrorCodes.DATA_DIR_UNREADABLE,
      `cannot close data dir ${dataDir} after recovery: ${err instanceof Error ? err.message : String(err)}`,
      { path: dataDir, cause: err },
    )
  }
  await openAt(dataDir, () => db)
}
