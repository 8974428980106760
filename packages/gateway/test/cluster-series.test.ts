import { describe, expect, it } from 'vitest'
import { type NodePoll, SampleRing, sampleCluster, verdictOf } from '../src/cluster-series.js'
import { parseWriteCounts, quantileBetween } from '../src/prom-text.js'

const TEXT = `# HELP tally_writes_total x
# TYPE tally_writes_total counter
tally_writes_total{op="increment",result="ok"} 7
tally_writes_total{op="decrement",result="ok"} 3
tally_writes_total{op="increment",result="invalid"} 2
tally_write_duration_seconds_bucket{le="0.001"} 4
tally_write_duration_seconds_bucket{le="0.01"} 10
tally_write_duration_seconds_bucket{le="+Inf"} 12
tally_replication_lag_max_seconds 0.25
garbage line
tally_writes_total{op="x",result="ok"} NaN
`

const poll = (
  at: number,
  value: number,
  digest: string,
  ok: number,
  failed: number,
  b: Array<[number, number]>,
): NodePoll => ({
  at,
  value,
  digest,
  writes: { ok, failed, buckets: b, lagSeconds: undefined },
})

describe('prom-text', () => {
  it('reads write counts, buckets and lag; skips bad lines', () => {
    expect(parseWriteCounts(TEXT)).toEqual({
      ok: 10,
      failed: 2,
      buckets: [
        [0.001, 4],
        [0.01, 10],
        [Number.POSITIVE_INFINITY, 12],
      ],
      lagSeconds: 0.25,
    })
    expect(parseWriteCounts('process_cpu 1\n')).toBeUndefined()
  })

  it('quantile by interpolation inside the bucket; +Inf answers its lower bound; nothing observed → undefined', () => {
    const b: Array<[number, number]> = [
      [0.001, 50],
      [0.01, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]
    expect(quantileBetween(undefined, b, 0.5)).toBeCloseTo(0.001)
    expect(quantileBetween(undefined, b, 0.75)).toBeCloseTo(0.0055)
    expect(quantileBetween(b, b, 0.99)).toBeUndefined()
    expect(
      quantileBetween(
        undefined,
        [
          [0.01, 0],
          [Number.POSITIVE_INFINITY, 5],
        ],
        0.99,
      ),
    ).toBe(0.01)
  })
})

describe('cluster samples', () => {
  it('sums rates over nodes, merges histograms for p99, measures spread', () => {
    const prev = new Map([
      [
        'a',
        poll(0, 5, 'd1', 10, 0, [
          [0.001, 10],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ],
      [
        'b',
        poll(0, 5, 'd1', 0, 0, [
          [0.001, 0],
          [Number.POSITIVE_INFINITY, 0],
        ]),
      ],
    ])
    const cur = new Map([
      [
        'a',
        poll(1000, 9, 'd2', 20, 2, [
          [0.001, 20],
          [Number.POSITIVE_INFINITY, 22],
        ]),
      ],
      [
        'b',
        poll(1000, 7, 'd3', 10, 0, [
          [0.001, 10],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ],
    ])
    const s = sampleCluster(prev, cur, 1000)
    expect(s).toMatchObject({ t: 1000, writesPerSec: 20, errorsPerSec: 2, spread: 2, answering: 2 })
    expect(s.p99Ms).toBeCloseTo(1)
    expect(sampleCluster(new Map(), cur, 1000)).toMatchObject({ writesPerSec: null, p99Ms: null, spread: 2 })
  })

  it('a restarted node (counters went down) counts from zero', () => {
    const prev = new Map([['a', poll(0, 0, 'd', 100, 0, [[Number.POSITIVE_INFINITY, 100]])]])
    const cur = new Map([['a', poll(2000, 0, 'd', 4, 0, [[Number.POSITIVE_INFINITY, 4]])]])
    expect(sampleCluster(prev, cur, 2000).writesPerSec).toBe(2)
  })

  it('verdict: converged when every digest is equal', () => {
    expect(verdictOf(new Map())).toEqual({ converged: null, value: null, spread: null, answering: 0 })
    const same = new Map([
      ['a', poll(0, 5, 'd', 0, 0, [])],
      ['b', poll(0, 5, 'd', 0, 0, [])],
    ])
    expect(verdictOf(same)).toEqual({ converged: true, value: 5, spread: 0, answering: 2 })
    same.set('c', poll(0, 2, 'x', 0, 0, []))
    expect(verdictOf(same)).toEqual({ converged: false, value: null, spread: 3, answering: 3 })
  })

  it('the ring keeps the newest samples, oldest first', () => {
    const r = new SampleRing(3)
    for (let t = 1; t <= 5; t++)
      r.push({ t, writesPerSec: 0, errorsPerSec: 0, p99Ms: null, spread: 0, answering: 1 })
    expect(r.toArray().map((s) => s.t)).toEqual([3, 4, 5])
    expect(() => new SampleRing(0)).toThrow(RangeError)
  })
})
