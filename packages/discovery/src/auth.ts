import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Constant-time check of an `Authorization` header against `Bearer <token>`.
 * Both sides are hashed first so neither the comparison time nor an early
 * length mismatch reveals how much of the token was right. Never throws.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (typeof header !== 'string') return false
  const expected = createHash('sha256').update(`Bearer ${token}`).digest()
  const given = createHash('sha256').update(header).digest()
  return timingSafeEqual(expected, given)
}
