// Timeout-based failure detection as pure functions of (peer record, now).
// A peer is live while it has been heard from recently, suspect after a
// silence of `suspectAfterMs`, dead after `deadAfterMs` or once it said LEAVE.
// Any message from the peer makes it live again at once.

/** Health of a peer as seen from here. */
export type PeerState = 'live' | 'suspect' | 'dead'

/** Thresholds in ms since the last message received from the peer. */
export interface DetectorConfig {
  suspectAfterMs: number
  deadAfterMs: number
}

/**
 * Thresholds for a gossip interval: a peer is contacted by us or contacts us
 * several times per second in a healthy cluster, so 10 silent rounds (at
 * least 2 s) makes it suspect, 30 (at least 6 s) dead. Pure.
 */
export function detectorFor(gossipIntervalMs: number): DetectorConfig {
  return {
    suspectAfterMs: Math.max(2_000, 10 * gossipIntervalMs),
    deadAfterMs: Math.max(6_000, 30 * gossipIntervalMs),
  }
}

/**
 * State of a peer last heard from at `lastContact` (ms), at time `now` (ms).
 * `left`: it announced a clean shutdown after that contact. Pure.
 */
export function classify(lastContact: number, now: number, left: boolean, cfg: DetectorConfig): PeerState {
  if (left) return 'dead'
  const silent = now - lastContact
  if (silent < cfg.suspectAfterMs) return 'live'
  if (silent < cfg.deadAfterMs) return 'suspect'
  return 'dead'
}
