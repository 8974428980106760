// Pure pieces of the dashboard's picture of the cluster: one cluster-wide
// sample from two consecutive polls of every node (writes/s, errors/s, p99
// write latency, spread of the default counter), the convergence verdict,
// and the bounded ring of samples the charts draw.

import { quantileBetween, type WriteCounts } from './prom-text.js'

/** What one poll of one node read. */
export interface NodePoll {
  /** When the poll finished, ms. */
  readonly at: number
  /** Default counter value; undefined when it could not be read. */
  readonly value: number | undefined
  /** State digest (equal digests: equal states). */
  readonly digest: string | undefined
  readonly writes: WriteCounts | undefined
}

/** One point of the charts. Rates per second; latency in ms; null when not measurable. */
export interface ClusterSample {
  /** Epoch ms. */
  readonly t: number
  readonly writesPerSec: number | null
  readonly errorsPerSec: number | null
  readonly p99Ms: number | null
  /** max − min of the default counter over the nodes that answered. */
  readonly spread: number | null
  /** Nodes that answered this poll. */
  readonly answering: number
}

/**
 * The sample at `now` from each node's previous and current poll (keyed
 * alike; a node without a previous poll contributes no rate). A counter
 * that went down (node restarted) counts from zero. Pure.
 */
export function sampleCluster(
  prev: ReadonlyMap<string, NodePoll>,
  cur: ReadonlyMap<string, NodePoll>,
  now: number,
): ClusterSample {
  let ok = 0
  let failed = 0
  let span = 0
  let rated = 0
  const merged = new Map<number, number>()
  const values: number[] = []
  for (const [key, c] of cur) {
    if (c.value !== undefined) values.push(c.value)
    const p = prev.get(key)
    if (p?.writes === undefined || c.writes === undefined) continue
    const dt = (c.at - p.at) / 1000
    if (dt <= 0) continue
    const dOk = c.writes.ok >= p.writes.ok ? c.writes.ok - p.writes.ok : c.writes.ok
    const dFailed = c.writes.failed >= p.writes.failed ? c.writes.failed - p.writes.failed : c.writes.failed
    ok += dOk / dt
    failed += dFailed / dt
    span = Math.max(span, dt)
    rated++
    const restarted = c.writes.ok < p.writes.ok
    const before = new Map(restarted ? [] : p.writes.buckets)
    for (const [le, n] of c.writes.buckets)
      merged.set(le, (merged.get(le) ?? 0) + Math.max(0, n - (before.get(le) ?? 0)))
  }
  const buckets = [...merged.entries()].sort((a, b) => a[0] - b[0])
  const p99 = quantileBetween(undefined, buckets, 0.99)
  return {
    t: now,
    writesPerSec: rated === 0 ? null : round(ok),
    errorsPerSec: rated === 0 ? null : round(failed),
    p99Ms: p99 === undefined ? null : round(p99 * 1000),
    spread: values.length === 0 ? null : Math.max(...values) - Math.min(...values),
    answering: cur.size,
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

/** The convergence verdict of the nodes that answered. */
export interface Verdict {
  /** True when every answering node has the same state digest; null when none answered. */
  readonly converged: boolean | null
  /** The default counter's value when converged, else null. */
  readonly value: number | null
  /** max − min of the default counter, null when none answered. */
  readonly spread: number | null
  readonly answering: number
}

/** The verdict over `polls`. Pure. */
export function verdictOf(polls: ReadonlyMap<string, NodePoll>): Verdict {
  const digests = new Set<string | undefined>()
  const values: number[] = []
  for (const p of polls.values()) {
    digests.add(p.digest)
    if (p.value !== undefined) values.push(p.value)
  }
  if (polls.size === 0) return { converged: null, value: null, spread: null, answering: 0 }
  const spread = values.length === 0 ? null : Math.max(...values) - Math.min(...values)
  const converged = digests.size === 1 && !digests.has(undefined)
  return { converged, value: converged ? (values[0] ?? null) : null, spread, answering: polls.size }
}

/** A bounded ring of samples, oldest first on read. */
export class SampleRing {
  readonly #items: ClusterSample[] = []
  readonly #capacity: number
  #head = 0

  /** `capacity`: most samples kept (e.g. 900 = 15 minutes at one per second). */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer')
    this.#capacity = capacity
  }

  /** Adds `s`, dropping the oldest when full. O(1). */
  push(s: ClusterSample): void {
    if (this.#items.length < this.#capacity) this.#items.push(s)
    else {
      this.#items[this.#head] = s
      this.#head = (this.#head + 1) % this.#capacity
    }
  }

  /** Samples, oldest first. O(n). */
  toArray(): ClusterSample[] {
    return [...this.#items.slice(this.#head), ...this.#items.slice(0, this.#head)]
  }

  get size(): number {
    return this.#items.length
  }
}
