// The upstream attempt histogram of /metrics
// (`tally_gateway_upstream_duration_seconds{outcome}`) kept as plain numbers
// on the request path and handed to prom-client only when scraped: a
// prom-client child's observe() builds a label object, validates and hashes
// it on every call, a measurable share of a gateway read.

import type { Metric, Registry } from 'prom-client'

/** Outcome label of one attempt, in the order the series were first observed by prom-client. */
export type AttemptOutcome = 'ok' | 'failed'

const NAME = 'tally_gateway_upstream_duration_seconds'
const HELP = 'One attempt on one node, from send to complete answer or failure, by outcome'

interface Series {
  readonly outcome: AttemptOutcome
  readonly buckets: Float64Array
  sum: number
  count: number
}

/**
 * Attempt durations by outcome over fixed bucket bounds (seconds, ascending,
 * `le` semantics as Prometheus: a value lands in the first bucket whose
 * bound is ≥ it, else only in `+Inf`).
 */
export class AttemptTally {
  readonly bounds: readonly number[]
  // In order of first observation (prom-client prints its series in that order).
  readonly series: Series[] = []
  #ok: Series | undefined
  #failed: Series | undefined

  /** `bounds`: ascending finite bucket bounds, seconds. Throws RangeError otherwise. */
  constructor(bounds: readonly number[]) {
    for (let i = 0; i < bounds.length; i++)
      if (!Number.isFinite(bounds[i]) || (i > 0 && (bounds[i] as number) <= (bounds[i - 1] as number)))
        throw new RangeError('bucket bounds must be finite and ascending')
    this.bounds = [...bounds]
  }

  /**
   * Records one attempt that ended with `outcome` after `seconds`. O(buckets),
   * no allocation after an outcome's first record; never throws (a
   * non-finite duration is not recorded).
   */
  record(outcome: AttemptOutcome, seconds: number): void {
    if (!Number.isFinite(seconds)) return
    let s = outcome === 'ok' ? this.#ok : this.#failed
    if (s === undefined) {
      s = { outcome, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 }
      if (outcome === 'ok') this.#ok = s
      else this.#failed = s
      this.series.push(s)
    }
    s.sum += seconds
    s.count++
    const b = this.bounds
    for (let i = 0; i < b.length; i++)
      if (seconds <= (b[i] as number)) {
        s.buckets[i] = (s.buckets[i] as number) + 1
        return
      }
  }
}

/**
 * Registers on `registry` the histogram read from `tally` when scraped, as
 * prom-client's own labelled Histogram prints it (one series per outcome
 * seen so far). Never throws.
 */
export function registerAttemptSeries(registry: Registry, tally: AttemptTally): void {
  const read = () => {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = []
    for (const s of tally.series) {
      let acc = 0
      for (let i = 0; i < tally.bounds.length; i++) {
        acc += s.buckets[i] as number
        values.push({
          labels: { le: tally.bounds[i] as number, outcome: s.outcome },
          value: acc,
          metricName: `${NAME}_bucket`,
        })
      }
      values.push({
        labels: { le: '+Inf', outcome: s.outcome },
        value: s.count,
        metricName: `${NAME}_bucket`,
      })
      values.push({ labels: { outcome: s.outcome }, value: s.sum, metricName: `${NAME}_sum` })
      values.push({ labels: { outcome: s.outcome }, value: s.count, metricName: `${NAME}_count` })
    }
    return { name: NAME, help: HELP, type: 'histogram', aggregator: 'sum', values }
  }
  // prom-client's registry takes any object with these members (name, help, type, get, reset).
  const histogram = {
    name: NAME,
    help: HELP,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => read(),
    reset: () => {},
  }
  registry.registerMetric(histogram as unknown as Metric)
}
