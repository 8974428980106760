import { type ErrorCode, ErrorCodes, TallyError } from './errors.js'

/** Longest replica id accepted, in UTF-16 code units. */
export const MAX_REPLICA_ID_LENGTH = 256
/** Longest counter name accepted. */
export const MAX_NAME_LENGTH = 128
/**
 * Counter names: 1–128 printable ASCII characters (U+0021–U+007E: letters,
 * digits and punctuation; no space, no control or non-ASCII characters),
 * except the reserved `__proto__`. That takes the key shapes Redis users
 * write (`user:42`, `rl:{tenant}/login`, `views@2026-12-01`, `page|home`)
 * while keeping names one byte per character, printable in logs, and free of
 * the NUL that separates a name from a replica id in digests.
 */
export const NAME_PATTERN = /^[\x21-\x7e]{1,128}$/

// Control characters in ids would corrupt logs and keys; everything else is allowed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * True when `s` holds a lone surrogate. Such a string does not survive a
 * UTF-8 round trip (msgpack, HTTP): it would come back with U+FFFD, i.e. as a
 * different replica on the far side. (A loop, not a regex: lookbehind is
 * missing in older browsers.)
 */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) continue
    if (c > 0xdbff) return true // a low surrogate with no high one before it
    const next = s.charCodeAt(i + 1) // NaN past the end
    if (!(next >= 0xdc00 && next <= 0xdfff)) return true
    i++
  }
  return false
}

// `__proto__` is the one key that cannot live in a plain object as data
// (assigning it replaces the prototype), and states are plain objects.
const RESERVED = '__proto__'

/** True when `name` follows the counter naming rules. Never throws. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name) && name !== RESERVED
}

/**
 * True when `id` is a usable replica id: a string of 1–256 UTF-16 code units,
 * no control characters (U+0000–U+001F, U+007F), no lone surrogates, not
 * `__proto__`. Never throws.
 */
export function isValidReplicaId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_REPLICA_ID_LENGTH &&
    !CONTROL.test(id) &&
    !hasLoneSurrogate(id) &&
    id !== RESERVED
  )
}

/**
 * Throws TALLY_AMOUNT_INVALID unless `amount` is a positive safe integer.
 * Floats are refused rather than rounded: float addition is not associative,
 * so replicas summing the same operations in different orders could disagree.
 */
export function assertAmount(amount: unknown): asserts amount is number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new TallyError(
      ErrorCodes.AMOUNT_INVALID,
      `amount must be a positive safe integer (1 to ${Number.MAX_SAFE_INTEGER}), got ${describe(amount)}`,
    )
  }
}

/** Throws TALLY_NAME_INVALID unless `name` follows the naming rules. */
export function assertName(name: unknown): asserts name is string {
  if (!isValidName(name)) {
    throw new TallyError(
      ErrorCodes.NAME_INVALID,
      `counter name must be 1-${MAX_NAME_LENGTH} printable ASCII characters without spaces (not __proto__), got ${describe(name)}`,
    )
  }
}

/** Throws TALLY_REPLICA_INVALID unless `id` is a usable replica id. */
export function assertReplicaId(id: unknown): asserts id is string {
  if (!isValidReplicaId(id)) {
    throw new TallyError(
      ErrorCodes.REPLICA_INVALID,
      `replica id must be a string of 1-${MAX_REPLICA_ID_LENGTH} characters without control characters or lone surrogates, got ${describe(id)}`,
    )
  }
}

/** True for a non-negative safe integer: the only numbers a state may hold. */
export function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/**
 * True for a plain object: prototype `Object.prototype` or null, not an array.
 * Class instances, Maps, Dates, typed arrays and boxed values are refused.
 * Callers read only own keys (`Object.keys`) and read each value once.
 */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/**
 * Own enumerable key of `x` not in `allowed`, or undefined. Unknown fields are
 * refused rather than ignored: a GCounter silently dropping the `n` of a
 * PNCounter state would lose decrements.
 */
export function unknownKey(x: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  for (const k of Object.keys(x)) if (!allowed.includes(k)) return k
  return undefined
}

/**
 * Runs `read` over untrusted input and turns anything it throws that is not a
 * TallyError (a throwing getter or Proxy trap, a stack overflow) into a
 * TallyError with `code`, so bad input always fails with a stable code.
 */
export function guard<T>(code: ErrorCode, what: string, read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (err instanceof TallyError) throw err
    // The thrown value is itself untrusted: do not touch it beyond `instanceof`.
    throw new TallyError(code, `${what} could not be read (a getter or proxy threw)`)
  }
}

/** Short, log-safe rendering of an arbitrary value for error messages. */
export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x)
  if (typeof x === 'bigint') return `${x}n`
  if (typeof x === 'boolean' || x == null) return String(x)
  if (Array.isArray(x)) return 'an array'
  return typeof x === 'object' ? 'an object' : `a ${typeof x}`
}
