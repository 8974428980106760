// The gateway's memory of nodes: every node seen in the last `forgetAfterMs`,
// with its operator state, since when, why, and what it last reported. The
// registry (registry.ts) holds only the nodes traffic may go to and drops a
// node discovery stopped listing; this table keeps it, marked `down`, so an
// operator still sees who is missing and why. Pure bookkeeping: callers pass
// `now` (ms); no I/O.

import type { Health } from './health.js'

/** What an operator is told about a node. */
export type NodeState = 'healthy' | 'suspect' | 'ejected' | 'down'

/** Every {@link NodeState}, in display order. */
export const NODE_STATES: readonly NodeState[] = ['healthy', 'suspect', 'ejected', 'down']

/** Consecutive ejections (failed probes in a row) after which an ejected node is reported down. */
export const DOWN_AFTER_EJECTIONS = 3

/** The part of a registry entry the state is derived from. */
export interface LiveView {
  readonly key: string
  readonly id: string | undefined
  readonly health: Health
  readonly ejections: number
  readonly lastError: string | undefined
}

/**
 * The operator state of a node the registry holds. `sampleFailed`: the
 * gateway's last stats poll of it failed (it may be slow or dying while
 * its health check still passes). Pure.
 *
 * - healthy: health checks pass and the last poll answered;
 * - suspect: not yet checked, or checks pass but the last poll failed;
 * - ejected: the health machine took it out of traffic (probing continues);
 * - down: ejected {@link DOWN_AFTER_EJECTIONS} times in a row.
 */
export function stateOf(v: LiveView, sampleFailed: boolean): NodeState {
  if (v.health === 'ejected') return v.ejections >= DOWN_AFTER_EJECTIONS ? 'down' : 'ejected'
  if (v.health === 'unknown' || sampleFailed) return 'suspect'
  return 'healthy'
}

/** What the gateway remembers of one node. */
export interface NodeRecord {
  /** Origin URL: the key. */
  readonly key: string
  id: string | undefined
  state: NodeState
  /** When `state` was entered, ms. */
  since: number
  /** When the node was last in the registry (known to route to), ms. */
  lastKnown: number
  /** When it last answered anything (health check or poll), ms; undefined if never. */
  lastSeen: number | undefined
  /** Why it is not healthy (the last failure); undefined when healthy. */
  lastError: string | undefined
  /** The default counter's value it last reported; undefined if never. */
  lastValue: number | undefined
  /** True while the registry holds it. */
  inRegistry: boolean
}

/** The table. Synchronous; never throws. */
export class NodeHistory {
  readonly #records = new Map<string, NodeRecord>()
  readonly #forgetAfterMs: number

  /** `forgetAfterMs`: how long a node no longer in the registry stays listed. */
  constructor(forgetAfterMs: number) {
    this.#forgetAfterMs = forgetAfterMs
  }

  /**
   * Folds the registry's current view in at `now`: each live node gets its
   * derived state (`failedPolls` holds the keys whose last poll failed,
   * `errors` their poll error); a remembered node the registry no longer
   * holds becomes `down` with reason "no longer listed by discovery" (and
   * "; last error: …" when it had one, so the cause seen before is kept);
   * a node down and unknown for longer than `forgetAfterMs` is forgotten.
   */
  update(live: readonly LiveView[], now: number, pollErrors: ReadonlyMap<string, string> = new Map()): void {
    const present = new Set<string>()
    for (const v of live) {
      present.add(v.key)
      const pollError = pollErrors.get(v.key)
      const state = stateOf(v, pollError !== undefined)
      let r = this.#records.get(v.key)
      if (r === undefined) {
        r = {
          key: v.key,
          id: v.id,
          state,
          since: now,
          lastKnown: now,
          lastSeen: undefined,
          lastError: undefined,
          lastValue: undefined,
          inRegistry: true,
        }
        this.#records.set(v.key, r)
      }
      if (v.id !== undefined) r.id = v.id
      if (r.state !== state) {
        r.state = state
        r.since = now
      }
      r.lastKnown = now
      r.inRegistry = true
      r.lastError = state === 'healthy' ? undefined : (v.lastError ?? pollError ?? r.lastError)
    }
    for (const r of this.#records.values()) {
      if (present.has(r.key)) continue
      if (r.inRegistry) {
        r.inRegistry = false
        r.lastError =
          r.lastError === undefined
            ? 'no longer listed by discovery'
            : `no longer listed by discovery; last error: ${r.lastError}`
      }
      if (r.state !== 'down') {
        r.state = 'down'
        r.since = now
      }
      if (now - r.lastKnown > this.#forgetAfterMs) this.#records.delete(r.key)
    }
  }

  /** Records that `key` answered at `now`, reporting default-counter `value` (if read). */
  seen(key: string, now: number, value?: number): void {
    const r = this.#records.get(key)
    if (r === undefined) return
    r.lastSeen = now
    if (value !== undefined) r.lastValue = value
  }

  /** Every remembered node, in the order first seen. */
  list(): NodeRecord[] {
    return [...this.#records.values()]
  }

  /** Number of remembered nodes in each state. */
  counts(): Record<NodeState, number> {
    const c: Record<NodeState, number> = { healthy: 0, suspect: 0, ejected: 0, down: 0 }
    for (const r of this.#records.values()) c[r.state]++
    return c
  }

  /** The record of `key`, if remembered. */
  get(key: string): NodeRecord | undefined {
    return this.#records.get(key)
  }
}
