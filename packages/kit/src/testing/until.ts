/** Options of {@link until}. */
export interface UntilOptions {
  /** What is awaited, in words: the error says `timed out after … waiting for <what>`. */
  readonly what: string
  /** Give up after this many milliseconds (default 10 000). */
  readonly timeoutMs?: number
  /** Pause between two checks, in milliseconds (default 20). */
  readonly intervalMs?: number
}

/**
 * Polls `cond` until it returns a truthy value and resolves with that value.
 * `cond` may be sync or async; a throw counts as "not yet" (the last error is
 * quoted if the wait times out). Checks once before the first pause, and once
 * more at the deadline. Rejects with an Error naming `what` after `timeoutMs`.
 */
export async function until<T>(
  cond: () => T | Promise<T>,
  { what, timeoutMs = 10_000, intervalMs = 20 }: UntilOptions,
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const expired = Date.now() >= deadline
    try {
      const v = await cond()
      if (v) return v as Exclude<T, false | 0 | '' | null | undefined>
      last = undefined
    } catch (err) {
      last = err
    }
    if (expired) {
      const why =
        last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleepMs(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
}

/** Resolves after `ms` milliseconds. For pacing (load, jitter), never for waiting on an outcome: use {@link until}. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
