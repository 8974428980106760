// Types of limit-burst.mjs (plain JavaScript so bench/limits.mjs can use it too).

/** What one burst measured. Times in ms since the epoch. */
export interface BurstResult {
  admitted: number
  refused: number
  windowStart: number
  lastSentAt: number
  /** How long sending took (the last hit's send, not its answer). */
  sendMs: number
  /** Longest gap between two batches of sends, ms (the pacing tick is 10 ms). */
  maxGapMs: number
  /** True when every hit was sent inside the window the burst started in. */
  insideWindow: boolean
  /** True when the pacing held: no gap between batches above 5 ticks. */
  even: boolean
}

/** See limit-burst.mjs. */
export function limitBurst(o: {
  urls: readonly string[]
  name: string
  limit: number
  windowMs: number
  hits: number
  spreadMs: number
  tickMs?: number
  slackMs?: number
}): Promise<BurstResult>

/** Closes the kept-alive sockets of the bursts: call before stopping the nodes. */
export function closeBurstSockets(): void
