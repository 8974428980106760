// Writes a snapshot's chunks a slice at a time: each slice is read, encoded
// and written, and the write's completion (a LevelDB round trip through the
// thread pool) hands the event loop back to requests before the next slice.

import { chunkKey, encodeChunk } from './snapshot-codec.js'
import { packedSlice, type StateSource } from './snapshot-source.js'
import type { IdempotencyRecord } from './store.js'
import { nextTurn } from './turn-budget.js'
import type { WalDb } from './wal-db.js'

/** Entries per counters chunk: encoding one takes a few ms, far below a 50 ms pause. */
export const CHUNK_ENTRIES = 2048
/** Idempotency records per records chunk. */
export const CHUNK_RECORDS = 1024

/**
 * Writes the counters of `src` (those numbered below `src.size()` when
 * called; later ones are in the log) and `records` as chunks
 * `0, 1, …` of generation `gen`, unsynced (the manifest written after them
 * with fsync makes them durable: LevelDB's log is sequential). Between two
 * chunks the event loop runs. Resolves with the number of counter chunks,
 * of record chunks after them, and of counters written; rejects with the
 * database's error.
 */
export async function writeSnapshotChunks(
  db: WalDb,
  gen: number,
  src: StateSource,
  records: readonly IdempotencyRecord[],
  opts: { entries?: number; records?: number } = {},
): Promise<{ chunks: number; recordChunks: number; counters: number }> {
  const perChunk = opts.entries ?? CHUNK_ENTRIES
  const perRecords = opts.records ?? CHUNK_RECORDS
  let index = 0
  let counters = 0
  const end = src.size()
  for (let from = 0; from < end; ) {
    const { columns, next } = packedSlice(src, from, perChunk)
    const bytes = encodeChunk({ packed: columns })
    counters += columns.nameLengths.length
    await db.put(chunkKey(gen, index++), bytes)
    await nextTurn()
    from = next
  }
  const chunks = index
  for (let i = 0; i < records.length; i += perRecords) {
    const bytes = encodeChunk({ records: records.slice(i, i + perRecords) })
    await db.put(chunkKey(gen, index++), bytes)
    await nextTurn()
  }
  return { chunks, recordChunks: index - chunks, counters }
}
