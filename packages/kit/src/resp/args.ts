// Argument rules Redis applies, as pure functions: integers (string2ll) and
// glob patterns (stringmatchlen) for KEYS / SCAN MATCH.

const INT = /^(0|-?[1-9][0-9]{0,18})$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Parses a Redis integer argument: optional `-`, decimal digits, no leading
 * zeros, no spaces, within signed 64 bits. Returns a bigint, or undefined
 * (reply `ERR value is not an integer or out of range`). Never throws.
 */
export function parseInteger(s: string): bigint | undefined {
  if (!INT.test(s)) return undefined
  const n = BigInt(s)
  return n < INT64_MIN || n > INT64_MAX ? undefined : n
}

/**
 * True when `s` matches the glob `pattern` as Redis matches keys: `*`, `?`,
 * `[abc]`, `[^a]`, `[a-z]`, `\x` escapes; case-sensitive. Iterative with
 * backtracking on the last `*` only, so it runs in O(|pattern|·|s|).
 */
export function globMatch(pattern: string, s: string): boolean {
  let p = 0
  let i = 0
  let starP = -1
  let starI = -1
  while (i < s.length) {
    if (p < pattern.length) {
      const c = pattern[p] as string
      if (c === '*') {
        while (pattern[p] === '*') p++
        if (p === pattern.length) return true
        starP = p
        starI = i
        continue
      }
      const m = matchOne(pattern, p, s[i] as string)
      if (m > 0) {
        p = m
        i++
        continue
      }
    }
    if (starP === -1) return false
    p = starP
    i = ++starI
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** Matches one character of `s` at pattern position `p`; returns the next pattern position, or 0 when it does not match. */
function matchOne(pattern: string, p: number, ch: string): number {
  const c = pattern[p] as string
  if (c === '?') return p + 1
  if (c === '\\' && p + 1 < pattern.length) return pattern[p + 1] === ch ? p + 2 : 0
  if (c !== '[') return c === ch ? p + 1 : 0
  let q = p + 1
  const not = pattern[q] === '^'
  if (not) q++
  let hit = false
  while (q < pattern.length && pattern[q] !== ']') {
    if (pattern[q] === '\\' && q + 1 < pattern.length) {
      if (pattern[q + 1] === ch) hit = true
      q += 2
    } else if (pattern[q + 1] === '-' && q + 2 < pattern.length && pattern[q + 2] !== ']') {
      let lo = pattern[q] as string
      let hi = pattern[q + 2] as string
      if (lo > hi) [lo, hi] = [hi, lo]
      if (ch >= lo && ch <= hi) hit = true
      q += 3
    } else {
      if (pattern[q] === ch) hit = true
      q++
    }
  }
  // An unterminated class ends at the end of the pattern (as in Redis).
  return hit !== not ? Math.min(q + 1, pattern.length) : 0
}
