// Per-node health: a pure state machine driven by active checks and by the
// outcome of real requests (passive). Time is a parameter (`now`, ms), so the
// tests table-drive it with a fake clock.
//
//   unknown ──ok──▶ healthy ──fail──▶ ejected ──probe ok──▶ healthy
//      └──────────────fail───────────────▲  │ probe fail: ejected again, longer
//
// An ejected node gets no traffic until a probe (the active health check) or
// a last-resort request succeeds on it. Each consecutive ejection doubles the
// wait before the next probe, up to `maxEjectionMs`, so a flapping or dead
// node costs little; one success resets the back-off.

/** Health of one node as reported by `GET /nodes`. */
export type Health = 'unknown' | 'healthy' | 'ejected'

/** Immutable health record of one node. */
export interface HealthState {
  readonly health: Health
  /** Consecutive ejections without a success in between (drives the back-off). */
  readonly ejections: number
  /** When (ms) an ejected node may next be probed; 0 when not ejected. */
  readonly probeAt: number
  /** When (ms) the node was last checked or used; undefined before the first time. */
  readonly lastCheck: number | undefined
  /** Why the node was last ejected; undefined while healthy. */
  readonly lastError: string | undefined
}

/** Tuning of the state machine. */
export interface HealthPolicy {
  /** Wait before the first probe of a freshly ejected node, ms. */
  readonly baseEjectionMs: number
  /** Longest wait between probes of a node that keeps failing, ms. */
  readonly maxEjectionMs: number
}

/** Policy derived from the health-check interval: first probe after one interval, at most 30 intervals apart (capped at 30 s). */
export function policyFor(healthIntervalMs: number): HealthPolicy {
  return {
    baseEjectionMs: healthIntervalMs,
    maxEjectionMs: Math.max(healthIntervalMs, Math.min(30_000, 30 * healthIntervalMs)),
  }
}

/** A node never checked yet. It is usable (optimistically) until something fails on it. */
export const INITIAL_HEALTH: HealthState = {
  health: 'unknown',
  ejections: 0,
  probeAt: 0,
  lastCheck: undefined,
  lastError: undefined,
}

/** A check or request on the node succeeded at `now`. Pure. */
export function onSuccess(_s: HealthState, now: number): HealthState {
  return { health: 'healthy', ejections: 0, probeAt: 0, lastCheck: now, lastError: undefined }
}

/**
 * A check or request failed at `now` (connection error, timeout, 5xx): the
 * node is ejected, and may be probed again after the back-off
 * `min(max, base · 2^(ejections))`. Pure.
 */
export function onFailure(s: HealthState, now: number, policy: HealthPolicy, reason: string): HealthState {
  const wait = Math.min(policy.maxEjectionMs, policy.baseEjectionMs * 2 ** Math.min(s.ejections, 30))
  return {
    health: 'ejected',
    ejections: s.ejections + 1,
    probeAt: now + wait,
    lastCheck: now,
    lastError: reason,
  }
}

/** True when normal traffic may be routed to the node. */
export function isUsable(s: HealthState): boolean {
  return s.health !== 'ejected'
}

/** True when the active checker should probe the node at `now` (always, unless ejected and still backing off). */
export function shouldProbe(s: HealthState, now: number): boolean {
  return s.health !== 'ejected' || now >= s.probeAt
}
