// The idempotency records of a recovery, read when first asked for.
//
// A snapshot holds hundreds of thousands of key records. Decoded at open,
// they are that many objects in the heap while the counter map is rebuilt,
// and every full garbage collection the rebuild's typed-array pages set off
// marks them all (at 1 000 000 counters × 3 replicas + 300 000 records, about
// as much CPU as building the map). So open only checks the record chunks'
// checksums and keeps their bytes (outside the heap); the records are
// decoded, with the log's records after them, on first read of
// `Recovered.idempotency`, which the node does once the map is built.

import { RecordSet } from '../idempotency/record-set.js'
import { decodeChunk } from './snapshot-codec.js'
import type { IdempotencyRecord } from './store.js'

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

/**
 * A function returning the records of `src` under the RecordSet rule
 * (snapshot first, then the log in order; one per application of a key) and
 * inside retention, oldest first. Decodes on its first call and returns the
 * same array afterwards. A chunk that does not decode as records throws
 * `badChunk(index, reason)`: its records are not dropped, since a lost record
 * lets a retry of its write count twice. The node reads the records before it
 * listens, so such a snapshot still refuses the start.
 */
export function recoveredRecords(src: RecordSources): () => IdempotencyRecord[] {
  let out: IdempotencyRecord[] | undefined
  return () => {
    if (out) return out
    const set = new RecordSet()
    for (const r of src.snapshot) set.add(r)
    src.chunks.forEach((bytes, i) => {
      const chunk = decodeChunk(bytes)
      if ('records' in chunk) for (const r of chunk.records) set.add(r)
      else throw src.badChunk(i, 'reason' in chunk ? chunk.reason : 'not records')
    })
    for (const r of src.logged) set.add(r)
    out = set.live(src.now, src.ttl)
    return out
  }
}
