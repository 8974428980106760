import type { LearnedPeer } from '../membership/membership.js'

/**
 * Anything that feeds the node with peers besides --peers and gossip:
 * a discovery client, multicast announcements. `start()` must not throw and
 * must keep working (retrying) while its source is down; `stop()` releases it
 * (a discovery client deregisters there).
 */
export interface PeerSource {
  start(): void
  stop(): Promise<void>
}

/** What server.ts hands a peer source: who we are and where to report peers. */
export interface PeerSourceContext {
  self: { id: string; addr: string; http: string }
  onPeers: (peers: LearnedPeer[]) => void
  /** Gossip addresses without an id yet (DNS answers): probed like --peers seeds. */
  seed: (addrs: string[]) => void
  /** Gossip addresses a source no longer lists: forgotten. */
  forget: (addrs: string[]) => void
}
