import { prng } from '@tally/kit/testing'
import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import {
  registerWriteSeries,
  WRITE_OPS,
  WRITE_RESULTS,
  WriteTally,
  writeResultOf,
} from '../../src/http/write-series.js'

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const STATUSES = [200, 200, 200, 400, 404, 409, 422, 503, 504, 500]

// prom-client's own series, fed per write (what the write route did before).
function reference(registry: Registry) {
  const writes = new Counter({
    name: 'tally_writes_total',
    help: 'Write requests (increment/decrement) answered, by operation and outcome',
    labelNames: ['op', 'result'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'tally_write_duration_seconds',
    help: 'Time from a write request reaching its handler to its answer (apply, WAL append and fsync, quorum wait)',
    buckets: BOUNDS,
    registers: [registry],
  })
  return (op: string, status: number, seconds: number) => {
    writes.labels(op, writeResultOf(status)).inc()
    duration.observe(seconds)
  }
}

const lines = async (registry: Registry) => (await registry.metrics()).split('\n').sort()

describe('write series read when scraped', () => {
  it('print exactly what prom-client’s Counter and Histogram print for the same writes (seeded)', async () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed)
      const mine = new Registry()
      const tally = new WriteTally(BOUNDS)
      registerWriteSeries(mine, tally)
      const theirs = new Registry()
      const record = reference(theirs)
      expect(await lines(mine)).toEqual(await lines(theirs)) // nothing recorded yet
      for (let i = 0; i < 500; i++) {
        const op = WRITE_OPS[Math.floor(rnd() * 2)]!
        const status = STATUSES[Math.floor(rnd() * STATUSES.length)]!
        // Durations across every bucket, on the bounds themselves, and past the last.
        const seconds = i % 50 === 0 ? BOUNDS[i % BOUNDS.length]! : rnd() ** 4 * 8
        tally.record(op, status, seconds)
        record(op, status, seconds)
      }
      expect(await lines(mine)).toEqual(await lines(theirs))
      expect(JSON.stringify((await mine.getMetricsAsJSON()).map((m) => m.name).sort())).toBe(
        JSON.stringify((await theirs.getMetricsAsJSON()).map((m) => m.name).sort()),
      )
    }
  })

  it('counts by operation and outcome; refuses unordered bounds', () => {
    const t = new WriteTally([0.1, 1])
    t.record('increment', 200, 0.1)
    t.record('increment', 409, 2)
    t.record('decrement', 503, 0.5)
    expect(t.count('increment', 'ok')).toBe(1)
    expect(t.count('increment', 'conflict')).toBe(1)
    expect(t.count('decrement', 'unavailable')).toBe(1)
    expect(WRITE_RESULTS.reduce((s, r) => s + t.count('decrement', r), 0)).toBe(1)
    expect(t.histogram()).toEqual({ cumulative: [1, 2, 3], sum: 2.6, count: 3 })
    expect(() => new WriteTally([1, 0.5])).toThrow(RangeError)
  })
})
