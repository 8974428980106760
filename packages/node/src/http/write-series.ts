// The write series of /metrics (`tally_writes_total{op,result}` and the
// `tally_write_duration_seconds` histogram) kept as plain numbers on the
// request path and handed to prom-client only when scraped: a prom-client
// child's inc() hashes its labels and a histogram observe() builds a label
// object and hashes it on every request, a measurable share of a small write.

import { PlainHistogram, registerPlainHistogram } from '@tally/kit'
import { Counter, type Registry } from 'prom-client'

/** Outcome label of a write: the status class it was answered with. */
export type WriteResult = 'ok' | 'invalid' | 'conflict' | 'timeout' | 'unavailable' | 'error'

/** Every {@link WriteResult}, in label order. */
export const WRITE_RESULTS: readonly WriteResult[] = [
  'ok',
  'invalid',
  'conflict',
  'timeout',
  'unavailable',
  'error',
]

/** Operations of the write routes, in label order. */
export const WRITE_OPS = ['increment', 'decrement'] as const

/** A write route's operation. */
export type WriteOp = (typeof WRITE_OPS)[number]

/** Outcome label for an HTTP status a write was answered with. Pure. */
export function writeResultOf(status: number): WriteResult {
  return WRITE_RESULTS[resultIndex(status)]!
}

function resultIndex(status: number): number {
  if (status < 400) return 0
  if (status === 409) return 2
  if (status === 504) return 3
  if (status === 503) return 4
  if (status < 500) return 1
  return 5
}

/**
 * Counts of answered writes by operation and outcome, and a histogram of
 * their durations over fixed bucket bounds (seconds; see {@link PlainHistogram}).
 */
export class WriteTally {
  readonly bounds: readonly number[]
  /** The durations of every answered write. */
  readonly durations: PlainHistogram
  readonly #counts = new Float64Array(WRITE_OPS.length * WRITE_RESULTS.length)

  /** `bounds`: ascending finite bucket bounds, seconds. Throws RangeError otherwise. */
  constructor(bounds: readonly number[]) {
    this.durations = new PlainHistogram(bounds)
    this.bounds = this.durations.bounds
  }

  /** Records one write of `op` answered with HTTP `status` after `seconds`. O(buckets), no allocation; never throws. */
  record(op: WriteOp, status: number, seconds: number): void {
    this.#counts[(op === 'increment' ? 0 : 1) * WRITE_RESULTS.length + resultIndex(status)]!++
    this.durations.observe(seconds)
  }

  /** Writes of `op` answered with outcome `result` so far. */
  count(op: WriteOp, result: WriteResult): number {
    return this.#counts[WRITE_OPS.indexOf(op) * WRITE_RESULTS.length + WRITE_RESULTS.indexOf(result)] ?? 0
  }

  /** Cumulative counts per bound (then `+Inf`), the sum of the durations and their number. */
  histogram(): { cumulative: number[]; sum: number; count: number } {
    const d = this.durations
    return { cumulative: d.cumulative(), sum: d.sum, count: d.count }
  }
}

/**
 * Registers on `registry` the two series read from `tally` when scraped:
 * `tally_writes_total{op,result}` (outcomes seen so far) and
 * the `tally_write_duration_seconds` histogram (same text as prom-client's
 * own Histogram). Never throws.
 */
export function registerWriteSeries(registry: Registry, tally: WriteTally): void {
  new Counter({
    name: 'tally_writes_total',
    help: 'Write requests (increment/decrement) answered, by operation and outcome',
    labelNames: ['op', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      // Only outcomes seen so far have a series (as with prom-client's own children).
      for (const op of WRITE_OPS)
        for (const r of WRITE_RESULTS) {
          const n = tally.count(op, r)
          if (n > 0) this.labels(op, r).inc(n)
        }
    },
  })
  registerPlainHistogram(
    registry,
    'tally_write_duration_seconds',
    'Time from a write request reaching its handler to its answer (apply, WAL append and fsync, quorum wait)',
    () => [{ labels: {}, histogram: tally.durations }],
  )
}
