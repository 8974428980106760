// Reading a format-2 or 3 snapshot back: at open, every chunk is checked (present,
// checksum intact); the counter chunks are decoded later, one at a time, as
// the node merges them into its map, and the idempotency records once the
// map is built (recovered-records.ts).

import { readAhead } from './read-ahead.js'
import {
  chunkIndexOf,
  chunkKey,
  chunkRange,
  decodeChunk,
  frameIntact,
  type SnapshotManifest,
} from './snapshot-codec.js'
import type { RecoveredSlice } from './store.js'
import { StoreError, StoreErrorCodes } from './store-errors.js'
import type { WalDb } from './wal-db.js'

// LevelDB reads ahead of each snapshot iterator up to this many bytes. 1 MiB left about 4 MiB
// more resident after a million-counter snapshot (the thread pool's malloc arenas keep what
// they freed), for no faster start; 64 KiB saved more but started ~0.5 s slower (a thread-pool
// round trip every chunk or two). Node README, "RSS per counter, node started on …".
const READ_AHEAD_BYTES = 1 << 18

/** The StoreError (TALLY_WAL_CORRUPT) for a damaged snapshot in `dataDir`. */
export function damagedSnapshot(dataDir: string, reason: string): StoreError {
  return new StoreError(
    StoreErrorCodes.WAL_CORRUPT,
    `snapshot in ${dataDir} is damaged (${reason}): refusing to start. Move the data dir ` +
      `away to start as a new replica that peers refill`,
    { path: dataDir },
  )
}

/**
 * Checks every chunk of snapshot `m` (numbered contiguously from 0, checksums
 * intact; nothing is decoded) and returns the idempotency-record chunks'
 * bytes, in order. Rejects with TALLY_WAL_CORRUPT on any damage.
 */
export async function checkChunks(db: WalDb, m: SnapshotManifest, dataDir: string): Promise<Uint8Array[]> {
  const records: Uint8Array[] = []
  const it = db.iterator({ ...chunkRange(m.gen), highWaterMarkBytes: READ_AHEAD_BYTES, fillCache: false })
  let seen = 0
  try {
    // The next 64 chunks are read while these are checked.
    for await (const rows of readAhead(it, 64)) {
      for (const [key, value] of rows) {
        if (chunkIndexOf(key, m.gen) !== seen) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
        if (!frameIntact(value)) throw damagedSnapshot(dataDir, `chunk ${key}: checksum mismatch`)
        if (seen >= m.chunks) records.push(value)
        seen++
      }
    }
  } finally {
    await it.close()
  }
  const want = m.chunks + m.recordChunks
  if (seen !== want) throw damagedSnapshot(dataDir, `${want} chunks expected, ${seen} found`)
  return records
}

/**
 * The counter chunks of snapshot `m`, decoded one at a time (plain or packed
 * columns, checked when merged: recovery.ts `mergeSlice`). Rejects with
 * TALLY_WAL_CORRUPT when a chunk does not decode.
 */
export async function* readSlices(
  db: WalDb,
  m: SnapshotManifest,
  dataDir: string,
): AsyncGenerator<RecoveredSlice> {
  const it = db.iterator({
    gte: chunkKey(m.gen, 0),
    lt: chunkKey(m.gen, m.chunks),
    highWaterMarkBytes: READ_AHEAD_BYTES,
    fillCache: false,
  })
  try {
    // The next 16 chunks are read while these are decoded and merged.
    for await (const rows of readAhead(it, 16)) {
      for (const [key, value] of rows) {
        const chunk = decodeChunk(value)
        if ('columns' in chunk) yield { columns: chunk.columns }
        else if ('packed' in chunk) yield { packed: chunk.packed }
        else
          throw damagedSnapshot(dataDir, `chunk ${key}: ${'reason' in chunk ? chunk.reason : 'not counters'}`)
      }
    }
  } finally {
    await it.close()
  }
}
