/**
 * Reconnect delay after `failures` consecutive failures (1 = first failure):
 * exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half
 * fixed, half random) so restarting peers do not reconnect in lockstep.
 * `rand` returns a number in [0, 1). Pure; result in [0, maxMs].
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, rand: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30))
  return Math.round(exp / 2 + (exp / 2) * rand())
}

/**
 * Cap of the back-off towards a peer last known reachable at `lastGood` (ms,
 * null: never): within `recentMs` of it the cap is `recentCapMs`, so a peer
 * cut off by a partition is retried often enough to be back about that long
 * after the link is; older (likely gone for good) peers back off up to
 * `maxMs`. Pure.
 */
export function backoffCap(
  lastGood: number | null,
  now: number,
  recentMs: number,
  recentCapMs: number,
  maxMs: number,
): number {
  return lastGood !== null && now - lastGood < recentMs ? Math.min(recentCapMs, maxMs) : maxMs
}
