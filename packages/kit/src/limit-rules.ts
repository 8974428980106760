// The input rules of a rate-limit hit (`POST /limits/:name/hit`,
// `TALLY.LIMIT`), shared by the node and the gateway so both refuse the same
// requests with the same codes. Pure.

import { DomainError } from './http-errors.js'

/** Largest `limit` accepted (hits per window). */
export const MAX_LIMIT = 1_000_000_000
/** Longest window accepted: one day, in ms. */
export const MAX_WINDOW_MS = 86_400_000

/** Codes of the limit rules (400 on HTTP; `-TALLY <code> …` on RESP, except the amount's Redis error). */
export const LIMIT_ERROR_CODES = {
  /** `limit` is missing or not an integer from 1 to {@link MAX_LIMIT}. */
  LIMIT_INVALID: 'TALLY_LIMIT_INVALID',
  /** `windowMs` is missing or not an integer from 1 to {@link MAX_WINDOW_MS}. */
  WINDOW_INVALID: 'TALLY_WINDOW_INVALID',
} as const

/** One hit request once checked: integers, `1 ≤ amount ≤ limit ≤ MAX_LIMIT`, `1 ≤ windowMs ≤ MAX_WINDOW_MS`. */
export interface LimitHit {
  limit: number
  windowMs: number
  amount: number
}

/** The answer to a hit (HTTP body; RESP array `[allowed 0/1, limit, remaining, resetMs]`). */
export interface LimitAnswer {
  allowed: boolean
  limit: number
  remaining: number
  resetMs: number
}

function show(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)
  if (typeof x === 'number' || typeof x === 'boolean' || x == null) return String(x)
  return Array.isArray(x) ? 'an array' : `a ${typeof x}`
}

const isInt = (x: unknown, max: number): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 1 && x <= max

/**
 * Checks the three numbers of a hit and returns them. Throws DomainError
 * TALLY_LIMIT_INVALID, TALLY_WINDOW_INVALID or TALLY_AMOUNT_INVALID (an
 * amount that is not an integer from 1 to `limit`).
 */
export function checkLimitHit(limit: unknown, windowMs: unknown, amount: unknown): LimitHit {
  if (!isInt(limit, MAX_LIMIT))
    throw new DomainError(
      LIMIT_ERROR_CODES.LIMIT_INVALID,
      `limit must be an integer from 1 to ${MAX_LIMIT}, got ${show(limit)}`,
    )
  if (!isInt(windowMs, MAX_WINDOW_MS))
    throw new DomainError(
      LIMIT_ERROR_CODES.WINDOW_INVALID,
      `windowMs must be an integer from 1 to ${MAX_WINDOW_MS} (one day), got ${show(windowMs)}`,
    )
  if (amount !== undefined && !isInt(amount, limit))
    throw new DomainError(
      'TALLY_AMOUNT_INVALID',
      `amount must be an integer from 1 to the limit (${limit}), got ${show(amount)}`,
    )
  return { limit, windowMs, amount: amount ?? 1 }
}

/**
 * Reads the JSON body of a hit, `{ "limit", "windowMs", "amount"? }`, nothing
 * else. Throws DomainError TALLY_BAD_REQUEST (not an object, or an unknown
 * field), then as {@link checkLimitHit}. Never throws anything else.
 */
export function readLimitBody(body: unknown): LimitHit {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new DomainError(
      'TALLY_BAD_REQUEST',
      `body must be a JSON object {"limit", "windowMs", "amount"?}, got ${show(body)}`,
    )
  for (const k of Object.keys(body))
    if (k !== 'limit' && k !== 'windowMs' && k !== 'amount')
      throw new DomainError('TALLY_BAD_REQUEST', `body has an unknown field ${show(k)}`)
  const b = body as { limit?: unknown; windowMs?: unknown; amount?: unknown }
  return checkLimitHit(b.limit, b.windowMs, b.amount)
}
