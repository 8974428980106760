// The log row of a local keyed write: its single operation and its key
// record in one positional row (row kind 4), instead of the single-operation
// row with the record as a msgpack map (`[2, name, r, p, n, s, {key, name,
// op, amount, value, at, replica, seq, attempt}]`: 9 field names, and the
// counter name, replica id and seq stored twice). About a third of the bytes,
// and nothing to look up by field name at recovery.
//
//   [4, name, r, p, n, s, key, signed amount, value, at, attempt]
//
// The record's name, replica and seq are the operation's (`name`, `r`, `s`);
// the signed amount is +amount for an increment and −amount for a decrement.
// Only a record that is exactly that fits (a compensation's record names
// another operation, a record from before keys were replicated has no
// replica): anything else keeps the older rows, which recovery still reads.
// A data dir written before this row existed has none; a build before this
// one reads a batch holding one as damage ("malformed operation row") until a
// snapshot covers it: see the node README, "Log rows", on downgrades.

import type { OneOp } from './record-codec.js'
import type { IdempotencyRecord } from './store.js'

/** Row kind of a local keyed write with its key record (see the file's header). */
export const KEY_ROW = 4

/**
 * The single operation of a local write as `[name, r, p, n, s]` (one entry of
 * replica r at seq s, range (s−1, s]), as record-codec.ts finds it in a delta.
 */
export type OneTuple = readonly [name: string, r: string, p: number, n: number, s: number]

/**
 * The row of a local keyed write, or null when `idem` is not exactly the key
 * record of operation `one` (then the caller writes an older row). Pure.
 */
export function keyRow(one: OneTuple, idem: IdempotencyRecord): unknown[] | null {
  const [name, r, p, n, s] = one
  if (idem.name !== name || idem.replica !== r || idem.seq !== s || idem.compensated === true) return null
  const signed = idem.op === 'increment' ? idem.amount : -idem.amount
  return [KEY_ROW, name, r, p, n, s, idem.key, signed, idem.value, idem.at, idem.attempt ?? 1]
}

/** What {@link readKeyRow} gives back: the operation (fields unchecked, as recovery folds them) and its record. */
export type KeyRowOp = OneOp & { idem: IdempotencyRecord }

/**
 * Decodes a row of kind {@link KEY_ROW}, or null when its shape is wrong
 * (the caller refuses the batch: a keyed write whose record were dropped
 * could count a retry twice). The operation's counts are checked when
 * folded, as for the other single-operation rows. Never throws.
 */
export function readKeyRow(row: readonly unknown[]): KeyRowOp | null {
  if (row.length !== 11) return null
  const [, name, r, p, n, s, key, signed, value, at, attempt] = row
  if (typeof name !== 'string' || typeof r !== 'string' || typeof s !== 'number') return null
  if (typeof key !== 'string' || !Number.isSafeInteger(signed) || signed === 0) return null
  if (typeof value !== 'number' || typeof at !== 'number' || typeof attempt !== 'number') return null
  const amount = signed as number
  const idem: IdempotencyRecord = {
    key,
    name,
    op: amount > 0 ? 'increment' : 'decrement',
    amount: amount > 0 ? amount : -amount,
    value,
    at,
    replica: r,
    seq: s,
    attempt,
  }
  return { kind: 'one', name, r, p, n, s, idem }
}
