// `GET /counters/:name?explain=1`: what a read is made of and how stale it
// may be. Per replica: its increment and decrement totals for the counter
// and when this node last merged something new from it; per peer: how long
// ago its state digest last matched ours (then everything it held, we held).

import type { TallyNode } from '../node.js'

/** One replica's share of a counter, as `explain` reports it. */
export interface ExplainedReplica {
  /** Replica id (`<node id>.<incarnation>`). */
  replica: string
  /** True for this node's own replica. */
  self: boolean
  /** This replica's increment total on the counter. */
  increments: number
  /** This replica's decrement total on the counter. */
  decrements: number
  /** The replica's operation number at its last change of the counter. */
  seq: number
  /** When this node last merged a new entry of this replica (any counter), ISO time; null if not since start or self. */
  lastMergedAt: string | null
  /** Milliseconds since `lastMergedAt`; null with it. */
  lastMergedMsAgo: number | null
}

/** One peer's freshness, as `explain` reports it. */
export interface ExplainedPeer {
  id: string
  /** The failure detector's view: live, suspect or dead. */
  state: string
  /** When its digest last matched ours (all state equal), ISO time; null if never since start. */
  inSyncAt: string | null
  /** Milliseconds since `inSyncAt`; null with it. */
  inSyncMsAgo: number | null
}

/** The `explain` object of a read. */
export interface Explained {
  /** The node that answered. */
  node: string
  /** When the explanation was taken, ISO time. */
  at: string
  replicas: ExplainedReplica[]
  peers: ExplainedPeer[]
  /**
   * Upper bound of what this read may miss, ms: the largest `inSyncMsAgo`
   * over live and suspect peers (writes a dead peer accepted may be older
   * still). Null when a live or suspect peer was never in sync since start.
   * 0 without peers.
   */
  stalenessBoundMs: number | null
}

/**
 * Explains counter `name` on `node` at `now` (epoch ms). Throws what
 * `node.state(name)` throws (TALLY_NAME_INVALID, TALLY_STORE_FAILED). O(replicas
 * + peers), no I/O.
 */
export function explainCounter(node: TallyNode, name: string, now: number): Explained {
  const entries = node.state(name).counters[name] ?? {}
  const self = node.identity.replicaId
  const sync = node.replicator.sync
  const replicas: ExplainedReplica[] = Object.entries(entries)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([replica, [p, n, seq]]) => {
      const merged = replica === self ? undefined : sync.lastMerged(replica)
      return {
        replica,
        self: replica === self,
        increments: p,
        decrements: n,
        seq,
        lastMergedAt: iso(merged),
        lastMergedMsAgo: merged === undefined ? null : now - merged,
      }
    })
  let bound: number | null = 0
  const peers: ExplainedPeer[] = node.membership.list().map((p) => {
    const at = sync.lastInSync(p.id)
    const ago = at === undefined ? null : now - at
    if (p.state !== 'dead' && bound !== null) bound = ago === null ? null : Math.max(bound, ago)
    return { id: p.id, state: p.state, inSyncAt: iso(at), inSyncMsAgo: ago }
  })
  return {
    node: node.identity.nodeId,
    at: new Date(now).toISOString(),
    replicas,
    peers,
    stalenessBoundMs: bound,
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}
