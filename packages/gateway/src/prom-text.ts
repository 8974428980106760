// Reading the few series the dashboard needs from a node's Prometheus text
// (`GET /metrics`): write counts by outcome and the write-latency histogram.
// Pure; the input is untrusted (malformed lines are skipped).

/** Largest text parsed, characters (a node's /metrics is ~10 KB). */
const MAX_TEXT = 1024 * 1024

/** What a node's write series say, cumulative since it started. */
export interface WriteCounts {
  /** Writes answered `ok`. */
  ok: number
  /** Writes answered with any other result. */
  failed: number
  /** Latency histogram: upper bounds (seconds, ascending, +Inf last) and cumulative counts. */
  buckets: Array<[le: number, count: number]>
  /** The largest peer lag the node reports, seconds; undefined when absent. */
  lagSeconds: number | undefined
}

const LINE =
  /^(tally_writes_total|tally_write_duration_seconds_bucket|tally_replication_lag_max_seconds)(?:\{([^}]*)\})? (\S+)$/
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g

/** Parses `text` for {@link WriteCounts}; undefined when it holds no write series. Never throws. */
export function parseWriteCounts(text: string): WriteCounts | undefined {
  if (text.length > MAX_TEXT) return undefined
  const out: WriteCounts = { ok: 0, failed: 0, buckets: [], lagSeconds: undefined }
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith('tally_')) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const value = Number(m[3])
    if (!Number.isFinite(value) || value < 0) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string
    if (m[1] === 'tally_writes_total') {
      found = true
      if (labels.result === 'ok') out.ok += value
      else out.failed += value
    } else if (m[1] === 'tally_write_duration_seconds_bucket') {
      const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le)
      if (!Number.isNaN(le)) out.buckets.push([le, value])
    } else {
      out.lagSeconds = value
    }
  }
  out.buckets.sort((a, b) => a[0] - b[0])
  return found ? out : undefined
}

/**
 * The `q` quantile (0..1) of the observations between two cumulative
 * histograms of the same buckets (`before` may be undefined: since start),
 * by linear interpolation inside the bucket, as Prometheus's
 * histogram_quantile does; the +Inf bucket answers its lower bound.
 * Undefined when nothing was observed in between. Pure.
 */
export function quantileBetween(
  before: ReadonlyArray<readonly [number, number]> | undefined,
  after: ReadonlyArray<readonly [number, number]>,
  q: number,
): number | undefined {
  const prev = new Map(before ?? [])
  const deltas = after.map(([le, c]) => [le, Math.max(0, c - (prev.get(le) ?? 0))] as const)
  const total = deltas.at(-1)?.[1] ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  let lowerLe = 0
  let lowerCount = 0
  for (const [le, c] of deltas) {
    if (c >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lowerLe
      const inBucket = c - lowerCount
      return inBucket <= 0 ? le : lowerLe + ((le - lowerLe) * (rank - lowerCount)) / inBucket
    }
    lowerLe = le
    lowerCount = c
  }
  return lowerLe
}
