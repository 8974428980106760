// Snapshot slices less the counters the log dropped after that snapshot
// (garbage collection of deleted counters): recovery applies these to each
// slice it reads, in either column form.

/**
 * Snapshot columns (untrusted: checked later by `CounterMap.mergeColumns`)
 * without the rows of the counters in `names`: the counters the log dropped
 * after that snapshot. Returns `columns` itself when there is nothing to
 * remove or its shape is not the expected one (the merge then refuses it).
 * Pure; O(rows).
 */
export function withoutNames(columns: unknown, names: ReadonlySet<string>): unknown {
  if (names.size === 0 || typeof columns !== 'object' || columns === null) return columns
  const { names: cols, rows } = columns as { names?: unknown; rows?: unknown }
  if (!Array.isArray(cols) || !Array.isArray(rows)) return columns
  const gone = new Set<number>()
  cols.forEach((n, i) => {
    if (typeof n === 'string' && names.has(n)) gone.add(i)
  })
  if (gone.size === 0) return columns
  const kept: unknown[] = []
  for (let i = 0; i < rows.length; i += 5)
    if (!gone.has(rows[i] as number)) kept.push(...rows.slice(i, i + 5))
  return { ...(columns as object), rows: kept }
}

/**
 * Packed snapshot columns (`@tally/crdt` PackedColumns, not yet checked)
 * without the counters named in `names`: a new object with the kept
 * counters' names, entry counts and entries, and no `hashSum` (it stood for
 * the whole); `columns` itself when nothing goes or its shape is not the
 * packed one (the map's check then refuses it).
 * O(size).
 */
export function withoutPackedNames(columns: unknown, names: ReadonlySet<string>): unknown {
  if (names.size === 0 || typeof columns !== 'object' || columns === null) return columns
  const c = columns as Record<string, unknown>
  const { nameBytes, nameLengths, entryCounts, entryReplicas, values } = c
  if (
    !(nameBytes instanceof Uint8Array) ||
    !(nameLengths instanceof Uint8Array) ||
    !(entryCounts instanceof Uint32Array) ||
    !(entryReplicas instanceof Uint32Array) ||
    !(values instanceof Float64Array) ||
    entryCounts.length !== nameLengths.length
  )
    return columns
  const keep: boolean[] = []
  let at = 0
  let gone = 0
  for (let i = 0; i < nameLengths.length; i++) {
    const len = nameLengths[i] as number
    if (at + len > nameBytes.length) return columns
    const name = String.fromCharCode(...nameBytes.subarray(at, at + len))
    const k = !names.has(name)
    keep.push(k)
    if (!k) gone++
    at += len
  }
  if (gone === 0) return columns
  let bytes = 0
  let entries = 0
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i]) continue
    bytes += nameLengths[i] as number
    entries += entryCounts[i] as number
  }
  // The digest sum stood for every entry: it goes with the dropped ones (the map then hashes each entry).
  const { hashSum: _, ...rest } = c
  const out = {
    ...rest,
    nameBytes: new Uint8Array(bytes),
    nameLengths: new Uint8Array(keep.length - gone),
    entryCounts: new Uint32Array(keep.length - gone),
    entryReplicas: new Uint32Array(entries),
    values: new Float64Array(entries * 3),
  }
  let src = 0
  let e = 0
  let dst = 0
  let de = 0
  let k = 0
  for (let i = 0; i < keep.length; i++) {
    const len = nameLengths[i] as number
    const count = entryCounts[i] as number
    if (e + count > entryReplicas.length || (e + count) * 3 > values.length) return columns
    if (keep[i]) {
      out.nameBytes.set(nameBytes.subarray(src, src + len), dst)
      out.nameLengths[k] = len
      out.entryCounts[k] = count
      out.entryReplicas.set(entryReplicas.subarray(e, e + count), de)
      out.values.set(values.subarray(e * 3, (e + count) * 3), de * 3)
      dst += len
      de += count
      k++
    }
    src += len
    e += count
  }
  return out
}
