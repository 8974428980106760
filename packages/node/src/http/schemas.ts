// JSON schemas of the node's routes. Strict: no coercion, no unknown
// properties. Counter names are only typed here: the node validates them
// with @tally/crdt's rule (TALLY_NAME_INVALID), the one definition.

import { CONSISTENCY_LEVELS } from '@tally/kit'

const NAME = { type: 'string' } as const

/** Params of `/counters/:name…`. */
export const nameParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: NAME },
} as const

/** Query of the mutating routes: `?consistency=one|quorum|all`. */
export const mutateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { consistency: { type: 'string', enum: [...CONSISTENCY_LEVELS] } },
} as const

/** Body of the mutating routes: nothing, or `{amount}` (a positive safe integer). */
export const mutateBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { amount: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const

/** Query of `/state`: optionally one counter's `name`. */
export const stateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { name: NAME },
} as const

/** Query of `GET /counters/:name`: optionally `explain=1|true|0|false` (anything else → 400 TALLY_BAD_REQUEST). */
export const counterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { explain: { type: 'string', enum: ['1', 'true', '0', 'false'] } },
} as const

/**
 * Body of `PUT /counters/:name/ttl`: exactly `{ttlMs}`. Its value is checked
 * by the node (TALLY_TTL_INVALID), so that every bad TTL gets that code.
 */
export const ttlBody = {
  type: 'object',
  additionalProperties: false,
  required: ['ttlMs'],
  properties: { ttlMs: {} },
} as const

/** Query of routes that take none. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const
