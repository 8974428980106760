// Rules every component applies the same way. One definition each, so the
// node, the gateway and the Redis listeners can never disagree.

/** Values of `?consistency=` (and of the RESP `CONSISTENCY` option). */
export const CONSISTENCY_LEVELS = ['one', 'quorum', 'all'] as const

/** One of {@link CONSISTENCY_LEVELS}. */
export type Consistency = (typeof CONSISTENCY_LEVELS)[number]

/** True when `x` is a consistency level. Never throws. */
export function isConsistency(x: unknown): x is Consistency {
  return typeof x === 'string' && (CONSISTENCY_LEVELS as readonly string[]).includes(x)
}

/**
 * Replicas that must hold a write (or answer a read) at `level` in a cluster
 * of `n` members: one → 1, quorum → ⌊n/2⌋+1, all → n. `n` below 1 counts as 1
 * (a node always counts itself), so the answer is always at least 1. With
 * writes and reads both at quorum of the same n, R + W > n: a quorum read
 * overlaps every quorum-acknowledged write. Pure.
 */
export function requiredReplicas(level: Consistency, n: number): number {
  const members = Math.max(Math.floor(n), 1)
  switch (level) {
    case 'one':
      return 1
    case 'quorum':
      return Math.floor(members / 2) + 1
    case 'all':
      return members
  }
}

/**
 * The `Idempotency-Key` rule: 1–128 printable ASCII characters, not starting
 * with a space. Keys are compared byte for byte.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,127}$/

/** True when `x` is a valid idempotency key (see {@link IDEMPOTENCY_KEY_PATTERN}). Never throws. */
export function isIdempotencyKey(x: unknown): x is string {
  return typeof x === 'string' && IDEMPOTENCY_KEY_PATTERN.test(x)
}

/**
 * How long a node waits for quorum/all acknowledgements before answering 504
 * (`tally-node --quorum-timeout`), and what the gateway assumes the nodes use
 * unless told otherwise. Milliseconds.
 */
export const DEFAULT_QUORUM_TIMEOUT_MS = 2_000

/**
 * Largest TTL a counter takes, ms (100 years): node, gateway and RESP refuse
 * more, so `now + ttl` stays far inside the safe integers.
 */
export const MAX_TTL_MS = 100 * 365 * 24 * 60 * 60 * 1000

/** True for a TTL a counter takes: a whole number of ms from 1 to {@link MAX_TTL_MS}. */
export function isTtlMs(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 1 && x <= MAX_TTL_MS
}

/**
 * True when header `name` (lower case) occurs more than once in `rawHeaders`
 * (Node's `req.rawHeaders`: name, value, name, value…). Node joins repeated
 * headers with ", " (`Idempotency-Key: a` twice reads as `"a, a"`), which for
 * a single-valued header like `Idempotency-Key` or `Tally-Attempt` would be
 * taken as one odd value; callers refuse it instead. Linear in the number of
 * headers; never throws.
 */
export function isHeaderRepeated(rawHeaders: readonly string[], name: string): boolean {
  let seen = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const h = rawHeaders[i] as string
    if (h.length === name.length && h.toLowerCase() === name && ++seen > 1) return true
  }
  return false
}
