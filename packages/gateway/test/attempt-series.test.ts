import { prng } from '@tally/kit/testing'
import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { type AttemptOutcome, AttemptTally, registerAttemptSeries } from '../src/attempt-series.js'

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

// prom-client's own labelled histogram, observed per attempt (what the gateway did before).
function reference(registry: Registry) {
  const h = new Histogram({
    name: 'tally_gateway_upstream_duration_seconds',
    help: 'One attempt on one node, from send to complete answer or failure, by outcome',
    labelNames: ['outcome'],
    buckets: BOUNDS,
    registers: [registry],
  })
  const ok = h.labels('ok')
  const failed = h.labels('failed')
  return (outcome: AttemptOutcome, seconds: number) => (outcome === 'ok' ? ok : failed).observe(seconds)
}

// The JSON form without what prom-client adds for its own bookkeeping (exemplars, key order).
const json = async (registry: Registry) =>
  (await registry.getMetricsAsJSON()).map((m) => ({
    name: m.name,
    type: m.type,
    values: m.values.map((v) => ({
      labels: v.labels,
      value: v.value,
      metricName: (v as { metricName?: string }).metricName,
    })),
  }))

describe('attempt series read when scraped', () => {
  it('print exactly what prom-client’s Histogram prints for the same attempts (seeded)', async () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed)
      const mine = new Registry()
      const tally = new AttemptTally(BOUNDS)
      registerAttemptSeries(mine, tally)
      const theirs = new Registry()
      const record = reference(theirs)
      expect(await mine.metrics()).toBe(await theirs.metrics()) // nothing recorded yet
      // Seed 1 starts with a failure, so the series order follows the first observation.
      for (let i = 0; i < 500; i++) {
        const outcome: AttemptOutcome = (seed === 1 && i === 0) || rnd() < 0.2 ? 'failed' : 'ok'
        // Durations across every bucket, on the bounds themselves, and past the last.
        const seconds = i % 50 === 0 ? (BOUNDS[i % BOUNDS.length] as number) : rnd() ** 4 * 8
        tally.record(outcome, seconds)
        record(outcome, seconds)
        if (i === 0) expect(await mine.metrics()).toBe(await theirs.metrics()) // one series only
      }
      expect(await mine.metrics()).toBe(await theirs.metrics())
      expect(await json(mine)).toEqual(await json(theirs))
    }
  })

  it('refuses unordered bounds; skips a non-finite duration', () => {
    expect(() => new AttemptTally([1, 0.5])).toThrow(RangeError)
    const t = new AttemptTally([0.1, 1])
    t.record('ok', Number.NaN)
    expect(t.series).toEqual([])
  })
})
