// Read homes: the node a plain read of one counter goes to while it is
// usable. Reads of one counter meet on one node, so they coalesce and batch
// there as with a lone node, instead of being spread over every node by the
// strategy (three nodes, a third of the batch each). Pure functions of the
// candidates and the read's path.

import { type Candidate, loadScore, rendezvous } from './strategies.js'

/**
 * How far above the least-loaded candidate's {@link loadScore} a node may be
 * and still be a read's home under `least-loaded` (in queued requests): a
 * home more loaded than that is passed over, so the strategy still steers
 * reads away from a node that lags.
 */
export const HOME_SLACK = 4

/**
 * The home key of a plain read path: the path without its query, with
 * `/counter` (the default counter) spelled as `/counters/default`, so
 * `/counter`, `/counters/default` and `/counters/default?explain=1` share a
 * home. Pure; any string in, never throws.
 */
export function homeKey(path: string): string {
  const q = path.indexOf('?')
  const bare = q < 0 ? path : path.slice(0, q)
  return bare === '/counter' ? '/counters/default' : bare
}

/**
 * The home of the read keyed `key` ({@link homeKey}) among `nodes` (the
 * candidates the caller allows: usable, not yet tried for this read): the
 * {@link rendezvous} choice on the key, so every read of one counter, on
 * every gateway with the same nodes, goes to one node while it stays a
 * candidate, and a failed attempt moves on in the same per-key order. With
 * `loadAware` (the `least-loaded` strategy) only candidates within
 * {@link HOME_SLACK} of the lowest load score may be home. Undefined for no
 * candidates. O(n) in the candidates.
 */
export function readHome<C extends Candidate>(
  nodes: readonly C[],
  key: string,
  loadAware: boolean,
): C | undefined {
  if (!loadAware || nodes.length < 2) return rendezvous(nodes, key)
  let min = Number.POSITIVE_INFINITY
  for (const n of nodes) min = Math.min(min, loadScore(n))
  return rendezvous(
    nodes.filter((n) => loadScore(n) <= min + HOME_SLACK),
    key,
  )
}
