// The upstream attempt histogram of /metrics
// (`tally_gateway_upstream_duration_seconds{outcome}`) kept as plain numbers
// on the request path and handed to prom-client only when scraped: a
// prom-client child's observe() builds a label object, validates and hashes
// it on every call, a measurable share of a gateway read.

import { PlainHistogram, registerPlainHistogram } from '@tally/kit'
import type { Registry } from 'prom-client'

/** Outcome label of one attempt, in the order the series were first observed by prom-client. */
export type AttemptOutcome = 'ok' | 'failed'

const NAME = 'tally_gateway_upstream_duration_seconds'
const HELP = 'One attempt on one node, from send to complete answer or failure, by outcome'

interface Series {
  readonly labels: { readonly outcome: AttemptOutcome }
  readonly histogram: PlainHistogram
}

/** Attempt durations by outcome over fixed bucket bounds (seconds; see {@link PlainHistogram}). */
export class AttemptTally {
  readonly bounds: readonly number[]
  // In order of first observation (prom-client prints its series in that order).
  readonly series: Series[] = []
  #ok: Series | undefined
  #failed: Series | undefined

  /** `bounds`: ascending finite bucket bounds, seconds. Throws RangeError otherwise. */
  constructor(bounds: readonly number[]) {
    this.bounds = new PlainHistogram(bounds).bounds
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
      s = { labels: { outcome }, histogram: new PlainHistogram(this.bounds) }
      if (outcome === 'ok') this.#ok = s
      else this.#failed = s
      this.series.push(s)
    }
    s.histogram.observe(seconds)
  }
}

/**
 * Registers on `registry` the histogram read from `tally` when scraped, as
 * prom-client's own labelled Histogram prints it (one series per outcome
 * seen so far). Never throws.
 */
export function registerAttemptSeries(registry: Registry, tally: AttemptTally): void {
  registerPlainHistogram(registry, NAME, HELP, () => tally.series)
}
