// How fresh this node's view is: when each peer's state digest last matched
// ours (an anti-entropy exchange found us in sync), and when this node last
// merged something new from each replica. Read by `?explain=1` reads and by
// the replication-lag metric. Pure bookkeeping: the replicator reports, time
// is a parameter.

import type { Delta } from '@tally/crdt'

/** Bounds the tables: a peer or replica id beyond this many is not tracked (ids come from peers). */
const MAX_TRACKED = 4096

/** Per-peer and per-replica freshness times, epoch ms. Synchronous; never throws. */
export class SyncTracker {
  readonly #inSync = new Map<string, number>()
  readonly #merged = new Map<string, number>()

  /** Peer `peerId`'s digest equalled ours at `now` (ms). */
  inSync(peerId: string, now: number): void {
    if (this.#inSync.has(peerId) || this.#inSync.size < MAX_TRACKED) this.#inSync.set(peerId, now)
  }

  /** A delta that changed our state was merged at `now`: every replica with an entry in it is stamped. */
  merged(delta: Delta, now: number): void {
    let last: string | undefined
    for (const e of delta.entries) {
      const replica = e[1]
      // Entries come grouped by replica: stamp each run once.
      if (replica === last) continue
      last = replica
      if (this.#merged.has(replica) || this.#merged.size < MAX_TRACKED) this.#merged.set(replica, now)
    }
  }

  /** When `peerId`'s digest last matched ours, ms, or undefined if never (since start). */
  lastInSync(peerId: string): number | undefined {
    return this.#inSync.get(peerId)
  }

  /** When this node last merged a new entry of `replica`, ms, or undefined if never (since start). */
  lastMerged(replica: string): number | undefined {
    return this.#merged.get(replica)
  }

  /**
   * Largest lag over `peers`, seconds: for each, `now` minus when it was last
   * in sync (or minus `since` when it never was). 0 with no peer.
   */
  maxLagSeconds(peers: readonly string[], now: number, since: number): number {
    let max = 0
    for (const p of peers) {
      const lag = now - (this.#inSync.get(p) ?? since)
      if (lag > max) max = lag
    }
    return max / 1000
  }
}
