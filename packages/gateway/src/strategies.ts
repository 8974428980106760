// Load-balancing strategies: small pure functions of (candidates, state, rng).
// The caller owns the state (one `StrategyState` per gateway) and passes the
// candidates already filtered (usable, not yet tried for this request).

import { hash32 } from '@tally/kit'

/** Names accepted by `--strategy`. */
export const STRATEGY_NAMES = ['round-robin', 'random', 'least-loaded'] as const

/** One of {@link STRATEGY_NAMES}. */
export type StrategyName = (typeof STRATEGY_NAMES)[number]

/** What a strategy may look at for one node. */
export interface Candidate {
  /** Stable key of the node (its origin URL). */
  readonly key: string
  /** Requests the gateway itself has in flight to this node right now. */
  readonly inflight: number
  /** Load the node last reported in `/health`, if any. */
  readonly load?: { readonly inflight: number; readonly eventLoopDelayMs: number } | undefined
}

/** Mutable-by-replacement state shared by every pick of one gateway. */
export interface StrategyState {
  /** Round-robin cursor: count of picks so far (never negative). */
  readonly cursor: number
}

/** Result of one pick: the chosen candidate (undefined when there was none) and the next state. */
export interface Pick<C extends Candidate> {
  readonly node: C | undefined
  readonly state: StrategyState
}

/** A strategy: pure; `rng()` returns a float in [0, 1). O(n) in the candidates. */
export type Strategy = <C extends Candidate>(
  nodes: readonly C[],
  state: StrategyState,
  rng: () => number,
) => Pick<C>

/** The state a gateway starts with. */
export const INITIAL_STRATEGY_STATE: StrategyState = { cursor: 0 }

/**
 * Round-robin: the cursor modulo the candidate count, then the cursor moves
 * on. With a stable candidate list every node gets every n-th request.
 * (When failover removes tried nodes the list shrinks for that request only.)
 */
export const roundRobin: Strategy = (nodes, state) => {
  if (nodes.length === 0) return { node: undefined, state }
  const node = nodes[state.cursor % nodes.length]
  // Wrap well below 2^53 so the cursor stays an exact integer forever.
  return { node, state: { cursor: (state.cursor + 1) % 1_000_000_007 } }
}

/** Random: uniform over the candidates; the state is unchanged. */
export const random: Strategy = (nodes, state, rng) => {
  if (nodes.length === 0) return { node: undefined, state }
  const i = Math.min(nodes.length - 1, Math.floor(rng() * nodes.length))
  return { node: nodes[i], state }
}

/**
 * Load score of one candidate (lower is better): the gateway's own in-flight
 * requests to it, plus what the node last reported in flight, plus its
 * event-loop delay at 10 ms per request (a node whose loop lags 50 ms is as
 * busy as one with 5 more requests queued). Reported figures are at most one
 * health interval old; the gateway's own count is exact and current.
 */
export function loadScore(c: Candidate): number {
  const reported = c.load ? c.load.inflight + c.load.eventLoopDelayMs / 10 : 0
  return c.inflight + reported
}

/** Least-loaded: the lowest {@link loadScore}; ties broken uniformly at random. */
export const leastLoaded: Strategy = (nodes, state, rng) => {
  let best: (typeof nodes)[number][] = []
  let bestScore = Number.POSITIVE_INFINITY
  for (const n of nodes) {
    const s = loadScore(n)
    if (s < bestScore) {
      bestScore = s
      best = [n]
    } else if (s === bestScore) best.push(n)
  }
  if (best.length === 0) return { node: undefined, state }
  const i = Math.min(best.length - 1, Math.floor(rng() * best.length))
  return { node: best[i], state }
}

/**
 * Rendezvous (highest-random-weight) choice for an affinity key: the
 * candidate with the highest `hash32(key + "\n" + node.key)`, ties by node
 * key. Every gateway with the same node list makes the same choice, and when
 * a node leaves only the keys that chose it move. Used to send every retry of
 * one Idempotency-Key to the same node. Undefined for no candidates.
 */
export function rendezvous<C extends Candidate>(nodes: readonly C[], key: string): C | undefined {
  let best: C | undefined
  let bestScore = -1
  for (const n of nodes) {
    const score = hash32(`${key}\n${n.key}`)
    if (score > bestScore || (score === bestScore && best !== undefined && n.key < best.key)) {
      best = n
      bestScore = score
    }
  }
  return best
}

/** The strategy for a name. */
export function strategyFor(name: StrategyName): Strategy {
  switch (name) {
    case 'round-robin':
      return roundRobin
    case 'random':
      return random
    case 'least-loaded':
      return leastLoaded
  }
}
