// Failure detection as pure functions of (peer record, now).
//
// A peer is live while it has been heard from recently, suspect after a
// silence of `suspectAfterMs`, dead after `deadAfterMs` or once it said LEAVE.
// Any message from the peer makes it live again at once.
//
// Silence alone misjudges large clusters: with fanout f among N members a
// pair exchanges in a round with probability about 1 − (1 − f/(N−1))², so
// with N = 30, f = 3 it goes 10 rounds without an exchange 11 % of the time.
// SWIM answers with a direct probe of every member per protocol period;
// memberlist then stretches the suspicion time with log(N)
// (`suspicionTimeout`) and shortens it as other members confirm it
// (`remainingSuspicionTime`). Here every member that has been silent for
// `probeAfterMs` is sent a direct PULL each round ({@link needsProbe}); its
// ACK (and our PULL, on its side) refreshes the pair, so a healthy pair is
// never silent much longer than `probeAfterMs` plus a round trip, whatever N.
// Only a peer that misses several probes in a row becomes suspect, which
// keeps detection of a killed or isolated node fast (≈ `suspectAfterMs`).
// Cost: at most one ~80-byte PULL per silent member per round.
//
// A node that was itself stalled (GC, a long synchronous turn) cannot tell
// its own silence from its peers': {@link isLateTick} says when a tick came so
// late that nothing should be downgraded on it (Lifeguard's local health, in
// its simplest form).

/** Health of a peer as seen from here. */
export type PeerState = 'live' | 'suspect' | 'dead'

/** Thresholds in ms since the last message received from the peer. */
export interface DetectorConfig {
  /** Silence after which the peer is probed directly every round. */
  probeAfterMs: number
  suspectAfterMs: number
  deadAfterMs: number
  /** A tick more than this after the previous one downgrades nobody. */
  lateTickMs: number
}

/**
 * Thresholds for a gossip interval `g` (ms): probe after max(600 ms, 3 g) of
 * silence, suspect after max(1.5 s, 8 g), dead after max(5 s, 25 g); a tick
 * more than max(1 s, 5 g) after the previous one is late. With the default
 * 200 ms a killed peer is suspect within ~1.7 s and dead within ~5.2 s
 * (thresholds plus one round), while a healthy one answers ≥ 4 probes before
 * it could be suspected. Pure.
 */
export function detectorFor(gossipIntervalMs: number): DetectorConfig {
  const g = gossipIntervalMs
  return {
    probeAfterMs: Math.max(600, 3 * g),
    suspectAfterMs: Math.max(1_500, 8 * g),
    deadAfterMs: Math.max(5_000, 25 * g),
    lateTickMs: Math.max(1_000, 5 * g),
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

/**
 * Whether a live or suspect peer last heard from at `lastContact` should be
 * probed directly this round (it has been silent for `probeAfterMs`). Pure.
 */
export function needsProbe(lastContact: number, now: number, cfg: DetectorConfig): boolean {
  return now - lastContact >= cfg.probeAfterMs
}

/**
 * Whether a tick at `now` came so long after the previous one (`prevTick`,
 * or null for the first) that this node was stalled: silences measured now
 * include our own stall, so the tick must not downgrade any peer (the
 * messages that arrived meanwhile are handled right after). Pure.
 */
export function isLateTick(prevTick: number | null, now: number, cfg: DetectorConfig): boolean {
  return prevTick !== null && now - prevTick > cfg.lateTickMs
}
