// The idempotency records of a recovery, read when first asked for.
//
// A snapshot holds hundreds of thousands of key records. Decoded at open,
// they are that many objects in the heap while the counter map is rebuilt,
// and every full garbage collection the rebuild's typed-array pages set off
// marks them all (at 1 000 000 counters × 3 replicas + 300 000 records, about
// as much CPU as building the map). So open only checks the record chunks'
// checksums and keeps their bytes (outside the heap); the records are
// decoded, with the log's records after them, once the map is built: a few
// chunks per event-loop turn (`Recovered.readIdempotency`, what the node
// calls) or in one block on first read of `Recovered.idempotency`.

import { RecordSet } from '../idempotency/record-set.js'
import { decodeChunk } from './snapshot-codec.js'
import type { IdempotencyRecord } from './store.js'
import { turnClock } from './turn-budget.js'

/** What a recovery found of the idempotency records, in the order the retention rule needs. */
export interface RecordSources {
  /** A format-1 snapshot's records (already decoded). */
  readonly snapshot: readonly IdempotencyRecord[]
  /** A format-2/3 snapshot's record chunks: checksummed frames, not decoded. */
  readonly chunks: readonly Uint8Array[]
  /** The log's records after the snapshot, in log order. */
  readonly logged: readonly IdempotencyRecord[]
  /** Retention: records at or before `now - ttl` (ms) are left out. */
  readonly now: number
  readonly ttl: number
  /** The error to throw for a chunk whose checksum held but that holds no records. */
  readonly badChunk: (index: number, reason: string) => Error
}

/** Reads the records of a recovery: at once, or a few chunks per event-loop turn. */
export interface RecordReader {
  /**
   * The records (see {@link recoveredRecords}), decoding what is left in one
   * block on the first call; the same array afterwards. Throws `badChunk(…)`.
   */
  (): IdempotencyRecord[]
  /**
   * The same records, decoded a few chunks per event-loop turn (about
   * TURN_BUDGET_MS of work (turn-budget.ts), then a `setImmediate`), so hundreds of
   * thousands of records never block the loop for long; resolves with the
   * array the sync call returns afterwards. Rejects with `badChunk(…)`.
   */
  load(): Promise<IdempotencyRecord[]>
}

/**
 * A reader of the records of `src` under the RecordSet rule (snapshot
 * first, then the log in order; one per application of a key) and inside
 * retention, oldest first. The snapshot is taken to hold one record per
 * application, as a node writes it (a copy repeated inside it would reach
 * the key ledger, which keeps the first by the same rule). Decodes on its first call (or {@link RecordReader.load})
 * and returns the same array afterwards. A chunk that does not decode as
 * records throws `badChunk(index, reason)`: its records are not dropped,
 * since a lost record lets a retry of its write count twice. The node reads
 * the records before it listens, so such a snapshot still refuses the start.
 */
export function recoveredRecords(src: RecordSources): RecordReader {
  let out: IdempotencyRecord[] | undefined
  // A snapshot holds one record per application (it is written from the ledger and the table), so
  // only its records of keys the log names again can meet another copy: those go through the
  // RecordSet rule with the log's; every other one goes straight to `direct`, without a Map entry.
  const set = new RecordSet()
  const direct: IdempotencyRecord[] = []
  let logKeys: Set<string> | undefined
  const cutoff = src.now - src.ttl
  const take = (r: IdempotencyRecord): void => {
    if (logKeys?.has(r.key)) set.add(r)
    else if (r.at > cutoff) direct.push(r)
  }
  // Next chunk to decode; the snapshot's decoded records go in first.
  let next = 0
  let started = false
  const begin = (): void => {
    if (started) return
    started = true
    logKeys = new Set()
    for (const r of src.logged) logKeys.add(r.key)
    for (const r of src.snapshot) take(r)
  }
  const chunk = (i: number): void => {
    const c = decodeChunk(src.chunks[i] as Uint8Array)
    if ('records' in c) for (const r of c.records) take(r)
    else throw src.badChunk(i, 'reason' in c ? c.reason : 'not records')
  }
  const finish = (): IdempotencyRecord[] => {
    if (out) return out
    for (const r of src.logged) set.add(r)
    out = oldestFirst(set.size === 0 ? direct : direct.concat(set.live(src.now, src.ttl)))
    return out
  }
  const read = (): IdempotencyRecord[] => {
    if (out) return out
    begin()
    for (; next < src.chunks.length; next++) chunk(next)
    return finish()
  }
  read.load = async (): Promise<IdempotencyRecord[]> => {
    if (out) return out
    begin()
    const clock = turnClock()
    while (next < src.chunks.length) {
      // `next` moves only past a chunk read whole: one that throws throws again on every read.
      chunk(next)
      next++
      if (clock.due()) await clock.turn()
    }
    return finish()
  }
  return read
}

// `records` in `at` order, oldest first (a stable sort, in place), when they are not already.
function oldestFirst(records: IdempotencyRecord[]): IdempotencyRecord[] {
  for (let i = 1; i < records.length; i++)
    if ((records[i - 1] as IdempotencyRecord).at > (records[i] as IdempotencyRecord).at)
      return records.sort((a, b) => a.at - b.at)
  return records
}
