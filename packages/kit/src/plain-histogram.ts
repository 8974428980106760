// A histogram kept as plain numbers on a hot path and handed to prom-client
// only when scraped: a prom-client child's observe() builds a label object,
// validates and hashes it on every call, a measurable share of a small
// request. The text /metrics prints is the same as prom-client's own
// (labelled) Histogram's.

import type { Metric, Registry } from 'prom-client'

/**
 * Durations over fixed bucket bounds (seconds, ascending, `le` semantics as
 * Prometheus: a value lands in the first bucket whose bound is ≥ it, else
 * only in `+Inf`), with their sum and number.
 */
export class PlainHistogram {
  readonly bounds: readonly number[]
  readonly #buckets: Float64Array
  sum = 0
  count = 0

  /** `bounds`: ascending finite bucket bounds. Throws RangeError otherwise. */
  constructor(bounds: readonly number[]) {
    for (let i = 0; i < bounds.length; i++)
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i]! <= bounds[i - 1]!))
        throw new RangeError('bucket bounds must be finite and ascending')
    this.bounds = [...bounds]
    this.#buckets = new Float64Array(bounds.length)
  }

  /** Records one value. O(buckets), no allocation; never throws (a non-finite value is not recorded). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return
    this.sum += value
    this.count++
    const b = this.bounds
    for (let i = 0; i < b.length; i++)
      if (value <= b[i]!) {
        this.#buckets[i]!++
        return
      }
  }

  /** Cumulative counts per bound, then `+Inf` (= count). */
  cumulative(): number[] {
    const out: number[] = []
    let acc = 0
    for (const n of this.#buckets) {
      acc += n
      out.push(acc)
    }
    out.push(this.count)
    return out
  }
}

/** One labelled series of a scraped histogram. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>
  readonly histogram: PlainHistogram
}

/**
 * Registers on `registry` histogram `name` read from `series()` when scraped
 * (the series in the order given, each printed as prom-client's Histogram
 * prints a child: buckets with `le` first, then `_sum` and `_count`). Never
 * throws.
 */
export function registerPlainHistogram(
  registry: Registry,
  name: string,
  help: string,
  series: () => readonly HistogramSeries[],
): void {
  const read = () => {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = []
    for (const { labels, histogram: h } of series()) {
      const le = [...h.bounds, '+Inf']
      h.cumulative().forEach((value, i) => {
        values.push({ labels: { le: le[i]!, ...labels }, value, metricName: `${name}_bucket` })
      })
      values.push({ labels: { ...labels }, value: h.sum, metricName: `${name}_sum` })
      values.push({ labels: { ...labels }, value: h.count, metricName: `${name}_count` })
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values }
  }
  // prom-client's registry takes any object with these members (name, help, type, get, reset).
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => read(),
    reset: () => {},
  }
  registry.registerMetric(metric as unknown as Metric)
}
