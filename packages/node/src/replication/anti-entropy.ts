// Pure pieces of the digest exchange and of eager push. The replicator wires
// them to the transport; tests drive them directly.
//
//   A ── PULL {d_A} ──────────────▶ B     equal digests: ACK without summary, done
//   A ◀────────── ACK {d_B, s_B} ── B     else B's version summary
//   A ── PUSH {B lacks, s_A} ─────▶ B     A sends what B lacks and asks back
//   A ◀── PUSH {A lacks} ────────── B     B answers what A lacks
//
// Own entries that are not yet durable are never sent (see clipToDurable).

import type { CounterMap, Delta, RangeTuple, Summary } from '@tally/crdt'

/** What a PULL's receiver answers: the summary when the digests differ, nothing extra when equal. */
export function answerPull(map: CounterMap, peerDigest: string): { d: string; s?: Summary } {
  const d = map.digest()
  return d === peerDigest ? { d } : { d, s: map.summary() }
}

/**
 * Removes from `delta` what this replica has not yet made durable: entries of
 * `replica` with seq > `durableSeq`, and the part of its ranges above it.
 * Sending those could let a peer hold an operation that a crash then erases
 * here, and the restarted replica would reuse its seq with another value.
 * The superseding entry is sent later (its seq is above the peer's summary). Pure.
 */
export function clipToDurable(delta: Delta, replica: string, durableSeq: number): Delta {
  let clipped = false
  const entries = delta.entries.filter((e) => {
    const keep = e[1] !== replica || e[4] <= durableSeq
    if (!keep) clipped = true
    return keep
  })
  const ranges: RangeTuple[] = []
  for (const r of delta.ranges) {
    if (r[0] !== replica || r[2] <= durableSeq) ranges.push(r)
    else {
      clipped = true
      if (r[1] < durableSeq) ranges.push([r[0], r[1], durableSeq])
    }
  }
  return clipped ? { ranges, entries } : delta
}

/** True when `delta` carries nothing. */
export function isEmptyDelta(delta: Delta): boolean {
  return delta.entries.length === 0 && delta.ranges.length === 0
}

/**
 * Merges single-operation deltas of one replica (from `deltaFor(r, seq-1)`)
 * into one, with contiguous ranges coalesced, for a batched eager push. Pure.
 */
export function mergeDeltas(deltas: readonly Delta[]): Delta {
  if (deltas.length === 1) return deltas[0] as Delta
  const entries = deltas.flatMap((d) => d.entries)
  const all = deltas
    .flatMap((d) => d.ranges)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
  const ranges: RangeTuple[] = []
  for (const r of all) {
    const last = ranges[ranges.length - 1]
    if (last && last[0] === r[0] && r[1] <= last[2]) last[2] = Math.max(last[2], r[2])
    else ranges.push([r[0], r[1], r[2]])
  }
  return { ranges, entries }
}

/**
 * Splits a delta into parts of at most `maxEntries` entries, in order, with
 * every range on the last part only. Sent in order over one connection, the
 * receiver applies all entries before the ranges that vouch for them; if the
 * tail is lost, the receiver's summary simply does not advance. Pure.
 */
export function chunkDelta(delta: Delta, maxEntries: number): Delta[] {
  if (delta.entries.length <= maxEntries) return [delta]
  const parts: Delta[] = []
  for (let i = 0; i < delta.entries.length; i += maxEntries) {
    parts.push({ ranges: [], entries: delta.entries.slice(i, i + maxEntries) })
  }
  ;(parts[parts.length - 1] as Delta).ranges = delta.ranges
  return parts
}

/**
 * Splits a delta and the key records of its operations into PUSH payloads:
 * the parts of {@link chunkDelta} (ranges on the last), with the records in
 * groups of at most `maxKeys` riding on the parts from the first on; when
 * there are more groups than parts, extra payloads with an empty delta lead.
 * So every record arrives no later than the ranges that vouch for its
 * operation, and the whole goes as one all-or-nothing sequence. Pure.
 */
export function chunkPush<K>(
  delta: Delta,
  keys: readonly K[],
  maxEntries: number,
  maxKeys: number,
): Array<{ delta: Delta; k?: K[] }> {
  const parts: Array<{ delta: Delta; k?: K[] }> = chunkDelta(delta, maxEntries).map((d) => ({ delta: d }))
  const groups: K[][] = []
  for (let i = 0; i < keys.length; i += maxKeys) groups.push(keys.slice(i, i + maxKeys))
  while (groups.length > parts.length) parts.unshift({ delta: { ranges: [], entries: [] } })
  groups.forEach((g, i) => {
    ;(parts[i] as { k?: K[] }).k = g
  })
  return parts
}
