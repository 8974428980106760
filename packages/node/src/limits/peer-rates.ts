// Rate-aware headroom: what a node expects the other replicas to have
// admitted that it has not seen yet. For each other replica of a limit it
// keeps the count last received for the current window, when it arrived,
// the replica's admission rate (an average of the growth between arrivals)
// and the transit time of the frames that carried it. While that replica
// keeps admitting, the hits it admitted since its last frame left are
// `rate × (now − arrival + transit)`; a node reserves them before it admits.
// Pure; the clock and the transit time are arguments.

/** One other replica's admissions in one limit's current window, as seen here. Times in ms. */
export interface PeerRate {
  /** Window start the count belongs to. */
  start: number
  count: number
  /** When the count arrived (local clock). */
  at: number
  /** Admissions per ms (0 until two counts were seen). */
  rate: number
  /** Transit time of the frames carrying its counts (sender's send time to arrival), averaged. */
  lag: number
}

/** Longest transit time believed, ms (clock skew between machines adds to the measured one). */
export const MAX_LAG_MS = 1_000
/**
 * A replica silent for longer than twice its transit time plus this many ms
 * is taken to have stopped admitting: nothing is reserved for it.
 */
export const QUIET_MS = 50

/**
 * The record after count `count` of window `start` arrived at `now` with
 * transit `lag` ms. A new window starts afresh. Pure.
 */
export function observe(
  prev: PeerRate | undefined,
  start: number,
  count: number,
  now: number,
  lag: number,
): PeerRate {
  const l = Math.min(MAX_LAG_MS, Math.max(0, lag))
  if (!prev || prev.start !== start) return { start, count, at: now, rate: 0, lag: l }
  const dt = Math.max(1, now - prev.at)
  const inst = Math.max(0, count - prev.count) / dt
  return {
    start,
    count,
    at: now,
    rate: prev.rate === 0 ? inst : (prev.rate + inst) / 2,
    lag: (prev.lag + l) / 2,
  }
}

/**
 * Hits that replica has probably admitted in window `start` by `now` and not
 * yet shown us: `rate × (now − at + lag)`, rounded up; 0 for another window
 * or a replica quiet for longer than `2·lag + QUIET_MS`. Pure.
 */
export function unseen(p: PeerRate, start: number, now: number): number {
  if (p.start !== start || p.rate === 0) return 0
  const quiet = now - p.at
  if (quiet > 2 * p.lag + QUIET_MS) return 0
  return Math.ceil(p.rate * (Math.max(0, quiet) + p.lag))
}
