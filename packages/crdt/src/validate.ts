import { ErrorCodes, TallyError } from './errors.js'

/** Longest replica id accepted, in UTF-16 code units. */
export const MAX_REPLICA_ID_LENGTH = 256
/** Longest counter name accepted. */
export const MAX_NAME_LENGTH = 128
/** Counter names: 1–128 characters of `A-Z a-z 0-9 . _ : -`, except the reserved `__proto__`. */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

// Control characters in ids would corrupt logs and keys; everything else is allowed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/

// `__proto__` is the one key that cannot live in a plain object as data
// (assigning it replaces the prototype), and states are plain objects.
const RESERVED = '__proto__'

/** True when `name` follows the counter naming rules. Never throws. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name) && name !== RESERVED
}

/** True when `id` is a usable replica id. Never throws. */
export function isValidReplicaId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_REPLICA_ID_LENGTH &&
    !CONTROL.test(id) &&
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
      `counter name must be 1-${MAX_NAME_LENGTH} characters of A-Z a-z 0-9 . _ : -, got ${describe(name)}`,
    )
  }
}

/** Throws TALLY_REPLICA_INVALID unless `id` is a usable replica id. */
export function assertReplicaId(id: unknown): asserts id is string {
  if (!isValidReplicaId(id)) {
    throw new TallyError(
      ErrorCodes.REPLICA_INVALID,
      `replica id must be a string of 1-${MAX_REPLICA_ID_LENGTH} characters without control characters, got ${describe(id)}`,
    )
  }
}

/** True for a non-negative safe integer: the only numbers a state may hold. */
export function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/** True for a plain object (not null, not an array). Prototype keys are checked by callers via Object.hasOwn. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/** Short, log-safe rendering of an arbitrary value for error messages. */
export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint' || x == null) return String(x)
  return Array.isArray(x) ? 'an array' : `a ${typeof x}`
}
