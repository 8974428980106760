// Input rules the gateway enforces before anything reaches a node, with the
// same codes the nodes use. Pure; each function throws a GatewayError.

import { isValidName, MAX_NAME_LENGTH } from '@tally/crdt'
import {
  CONSISTENCY_LEVELS,
  type Consistency,
  isConsistency,
  isHeaderRepeated,
  isIdempotencyKey,
  isTtlMs,
  MAX_TTL_MS,
} from '@tally/kit'
import { GatewayError } from './errors.js'

/** Prefix of the counter backing a tenant's item count: tenant `t1` ↔ counter `items:t1`. */
export const ITEMS_PREFIX = 'items:'

/** Longest tenant id: the counter name `items:<tenant>` must stay within the 128-character name limit. */
export const MAX_TENANT_LENGTH = MAX_NAME_LENGTH - ITEMS_PREFIX.length

function show(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)
  if (typeof x === 'number' || typeof x === 'boolean' || x == null) return String(x)
  return Array.isArray(x) ? 'an array' : `a ${typeof x}`
}

/** Returns `x` when it is a positive safe integer (or 1 when undefined); throws TALLY_AMOUNT_INVALID naming `field`. */
export function readAmount(x: unknown, field: 'amount' | 'count'): number {
  if (x === undefined) return 1
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x <= 0) {
    throw new GatewayError(
      'TALLY_AMOUNT_INVALID',
      `${field} must be a positive safe integer (1 to ${Number.MAX_SAFE_INTEGER}), got ${show(x)}`,
    )
  }
  return x
}

/** Returns `x` when it is a TTL a counter takes (whole ms, 1 … MAX_TTL_MS); throws TALLY_TTL_INVALID. */
export function readTtlMs(x: unknown): number {
  if (!isTtlMs(x)) {
    throw new GatewayError(
      'TALLY_TTL_INVALID',
      `ttlMs must be a whole number of milliseconds from 1 to ${MAX_TTL_MS}, got ${show(x)}`,
    )
  }
  return x
}

/** Returns `x` when it is a valid counter name; throws TALLY_NAME_INVALID. */
export function readName(x: unknown): string {
  if (!isValidName(x)) {
    throw new GatewayError(
      'TALLY_NAME_INVALID',
      `counter name must be 1-${MAX_NAME_LENGTH} printable ASCII characters without spaces (not __proto__), got ${show(x)}`,
    )
  }
  return x
}

// Tenant ids are object keys in clients and dashboards: the names that are
// special on every JavaScript object are refused even though the counter
// name rules would let `items:<them>` through.
const RESERVED_TENANTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Returns the counter name `items:<tenant>` for a valid tenant: the tenant
 * itself and `items:<tenant>` both follow the counter name rules of
 * @tally/crdt, and the tenant is not `__proto__`, `constructor` or
 * `prototype`. Throws TALLY_TENANT_INVALID.
 */
export function tenantCounter(x: unknown): string {
  const name = typeof x === 'string' ? `${ITEMS_PREFIX}${x}` : undefined
  if (
    typeof x !== 'string' ||
    x.length > MAX_TENANT_LENGTH ||
    !isValidName(x) ||
    !isValidName(name) ||
    RESERVED_TENANTS.has(x)
  ) {
    throw new GatewayError(
      'TALLY_TENANT_INVALID',
      `tenant must be 1-${MAX_TENANT_LENGTH} printable ASCII characters without spaces (not __proto__, constructor or prototype), got ${show(x)}`,
    )
  }
  return name as string
}

/**
 * Returns the `Idempotency-Key` header if present and valid, undefined if
 * absent. `rawHeaders` (the request's `rawHeaders`) tells whether it was sent
 * more than once (Node joins the copies with ", "). Throws
 * TALLY_IDEMPOTENCY_KEY_INVALID, also when sent twice.
 */
export function readIdempotencyKey(
  x: string | string[] | undefined,
  rawHeaders: readonly string[] = [],
): string | undefined {
  if (x === undefined) return undefined
  if (Array.isArray(x) || isHeaderRepeated(rawHeaders, 'idempotency-key')) {
    throw new GatewayError('TALLY_IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key was sent twice; send it once')
  }
  if (!isIdempotencyKey(x)) {
    throw new GatewayError(
      'TALLY_IDEMPOTENCY_KEY_INVALID',
      'Idempotency-Key must be 1-128 printable ASCII characters (sent once)',
    )
  }
  return x
}

/** Returns the `?consistency=` level, undefined if absent; throws TALLY_CONSISTENCY_INVALID. */
export function readConsistency(x: unknown): Consistency | undefined {
  if (x === undefined) return undefined
  if (!isConsistency(x)) {
    throw new GatewayError(
      'TALLY_CONSISTENCY_INVALID',
      `consistency must be one of ${CONSISTENCY_LEVELS.join('|')}, got ${show(x)}`,
    )
  }
  return x
}

/** Reads `?explain=`: true for `1`/`true`, false when absent or `0`/`false`; throws TALLY_BAD_REQUEST otherwise. */
export function readExplain(x: unknown): boolean {
  if (x === undefined || x === '0' || x === 'false') return false
  if (x === '1' || x === 'true') return true
  throw new GatewayError('TALLY_BAD_REQUEST', `explain must be one of 1|true|0|false, got ${show(x)}`)
}
