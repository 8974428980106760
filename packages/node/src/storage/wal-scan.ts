import { frameOf, keyOf, type LogEntry } from './log-merge.js'
import { type ReadOp, readBatch, walSeqOf } from './record-codec.js'
import { StoreError, StoreErrorCodes } from './store-errors.js'
import { turnClock } from './turn-budget.js'

/** What a scan of the log found. */
export interface ScanResult {
  /** Last intact batch number (the snapshot's `covered` when there is none after it). */
  last: number
  /** Operations handed to `apply`. */
  ops: number
  /** Intact batches handed to `apply`. */
  batches: number
  /** Keys of damaged records to delete (a damaged tail, or everything from the damage on with `truncate`). */
  cut: string[]
  /** Keys at or below the snapshot (left by an interrupted truncation), to delete. */
  stale: string[]
  warnings: string[]
}

/**
 * What to do about damage followed by intact records (not a torn tail):
 * `refuse` (default) throws TALLY_WAL_CORRUPT so an operator decides;
 * `truncate` cuts from the first damaged record on, like a tail.
 */
export type CorruptionPolicy = 'refuse' | 'truncate'

/**
 * A shortcut for the common record: applies batch `seq`'s frame,
 * `bytes[start, end)`, when it is of a shape the caller reads straight from
 * its bytes, returning null (applied, one operation) or the reason its
 * content is unusable; returns undefined (nothing applied) for any other
 * frame, which the scan then decodes with `readBatch` and hands to `apply`.
 * It must give the same answer as that path would for every frame it takes.
 */
export type ApplyFrame = (
  seq: number,
  bytes: Uint8Array,
  start: number,
  end: number,
) => string | null | undefined

/**
 * Walks WAL entries (chunks of `[key, value]`, ascending) after snapshot batch
 * `covered`, handing each intact batch's operations to `apply` in order.
 * `apply` returns null, or a reason when the operations are unusable (then
 * the record counts as damaged).
 *
 * Batch numbers are contiguous from `covered + 1`; a record is damaged when
 * its checksum, shape or content is wrong. Damage with no intact record after
 * it is a torn tail: it is cut and reported in `warnings`, and nothing after
 * the damage is applied. A missing batch, or damage followed by an intact
 * record, means the middle of the log is gone: throws StoreError
 * TALLY_WAL_CORRUPT (policy `refuse`), or cuts from there (policy `truncate`).
 * `applyFrame`, when given, is tried first on each record (see {@link ApplyFrame}).
 * The event loop gets a turn every TURN_BUDGET_MS of work (turn-budget.ts).
 */
export async function scanWal(
  chunks: AsyncIterable<LogEntry[]>,
  covered: number,
  apply: (ops: ReadOp[]) => string | null,
  policy: CorruptionPolicy = 'refuse',
  applyFrame?: ApplyFrame,
): Promise<ScanResult> {
  const out: ScanResult = { last: covered, ops: 0, batches: 0, cut: [], stale: [], warnings: [] }
  let damage: { key: string; reason: string } | null = null
  // A chunk may be a whole log segment: give the event loop a turn every TURN_BUDGET_MS.
  const clock = turnClock()
  let seen = 0
  for await (const chunk of chunks)
    for (const entry of chunk) {
      // The clock is read every 256 records, not on each one.
      if ((++seen & 255) === 0 && clock.due()) await clock.turn()
      const seq = entry[2] ?? walSeqOf(entry[0] as string)
      const expected = out.last + 1
      // The common case first, without making the entry's key nor a view of its frame: the next
      // batch, taken by the shortcut.
      const quick: string | null | undefined =
        seq === expected && !damage && applyFrame
          ? entry.length === 5
            ? applyFrame(seq, entry[1], entry[3], entry[4])
            : applyFrame(seq, entry[1], 0, entry[1].length)
          : undefined
      if (quick === null) {
        out.last = expected
        out.ops++
        out.batches++
        continue
      }
      const key = keyOf(entry)
      if (seq !== null && seq <= covered) {
        out.stale.push(key)
        continue
      }
      if (damage) {
        out.cut.push(key)
        if (seq !== null && 'ops' in readBatch(seq, frameOf(entry)))
          midLog(policy, damage, `${key} after it is intact`)
        continue
      }
      let reason: string | null = null
      if (seq === null) reason = 'not a WAL key'
      else if (seq !== expected) {
        damage = { key, reason: `batch ${expected} is missing (next present is ${seq})` }
        out.cut.push(key)
        midLog(policy, damage, `${key} after it is present`)
        continue
      } else {
        // `quick` is the shortcut's answer for this record (seq is the next batch, no damage yet).
        if (quick !== undefined) {
          damage = { key, reason: quick }
          out.cut.push(key)
          continue
        }
        const d = readBatch(seq, frameOf(entry))
        reason = 'reason' in d ? d.reason : apply(d.ops)
        if (reason === null && 'ops' in d) {
          out.last = seq
          out.ops += d.ops.length
          out.batches++
          continue
        }
      }
      damage = { key, reason: reason ?? 'damaged' }
      out.cut.push(key)
    }
  if (damage) {
    out.warnings.push(
      `write-ahead log damaged at ${damage.key} (${damage.reason}): cut ${out.cut.length} record(s) from there; ` +
        `every record before it was recovered`,
    )
  }
  return out
}

function midLog(policy: CorruptionPolicy, damage: { key: string; reason: string }, after: string): void {
  if (policy === 'truncate') return
  throw new StoreError(
    StoreErrorCodes.WAL_CORRUPT,
    `write-ahead log damaged in the middle at ${damage.key} (${damage.reason}) and ${after}: ` +
      `refusing to start rather than skip it. Restore the data dir, or move it away to start as a new ` +
      `replica that peers refill, or open with corruption policy 'truncate' to cut from the damage on`,
  )
}
