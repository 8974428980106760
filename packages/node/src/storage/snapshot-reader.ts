// Reading a format-2 or 3 snapshot back: at open, every chunk is checked
// present and numbered, and the idempotency-record chunks' checksums too
// (their bytes are kept); the counter chunks are read once, later, checked
// and decoded one at a time as the node merges them into its map, and the
// idempotency records decoded once the map is built (recovered-records.ts).
//
// The counter chunks are most of a snapshot (25 MB at a million counters ×
// 3 replicas). Checking their checksums at open as well read every one of
// them twice: about 0.2 s of a 3.5 s restart here. A damaged one now stops
// the start as it is read, still before the node serves (recovery.ts).

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
 * Checks the chunks of snapshot `m`: every one present and numbered
 * contiguously from 0 (the counter chunks by their keys alone), the
 * idempotency-record chunks' checksums intact, and returns those chunks'
 * bytes, in order. Nothing is decoded. Rejects with TALLY_WAL_CORRUPT on any
 * damage found. A counter chunk's checksum is checked when it is read
 * ({@link readSlices}).
 */
export async function checkChunks(db: WalDb, m: SnapshotManifest, dataDir: string): Promise<Uint8Array[]> {
  const range = chunkRange(m.gen)
  const firstRecord = chunkKey(m.gen, m.chunks)
  let seen = 0
  const keys = db.keys({ gte: range.gte, lt: firstRecord, fillCache: false })
  try {
    for await (const batch of readAhead(keys, 1024))
      for (const key of batch) {
        if (chunkIndexOf(key, m.gen) !== seen) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
        seen++
      }
  } finally {
    await keys.close()
  }
  if (seen !== m.chunks) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
  const records: Uint8Array[] = []
  const it = db.iterator({
    gte: firstRecord,
    lt: range.lt,
    highWaterMarkBytes: READ_AHEAD_BYTES,
    fillCache: false,
  })
  try {
    // The next 64 chunks are read while these are checked.
    for await (const rows of readAhead(it, 64)) {
      for (const [key, value] of rows) {
        if (chunkIndexOf(key, m.gen) !== seen) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
        if (!frameIntact(value)) throw damagedSnapshot(dataDir, `chunk ${key}: checksum mismatch`)
        records.push(value)
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
 * The counter chunks of snapshot `m`, read, checked (checksum) and decoded
 * one at a time (plain or packed columns, their contents checked when
 * merged: recovery.ts `mergeSlice`). Rejects with TALLY_WAL_CORRUPT when a
 * chunk is missing, fails its checksum or does not decode.
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
  let seen = 0
  try {
    // The next 16 chunks are read while these are decoded and merged.
    for await (const rows of readAhead(it, 16)) {
      for (const [key, value] of rows) {
        if (chunkIndexOf(key, m.gen) !== seen) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
        seen++
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
  if (seen !== m.chunks) throw damagedSnapshot(dataDir, `chunk ${seen} is missing`)
}
