// Shape-only JSON schemas (types and value rules are checked in validate.ts,
// so that each bad field gets its own stable error code).

/** Body of counter writes: optional `{ amount }`, nothing else. */
export const amountBody = {
  type: 'object',
  additionalProperties: false,
  properties: { amount: {} },
} as const

/** Body of `PUT /counters/:name/ttl`: `{ ttlMs }` required, nothing else (its value: validate.ts). */
export const ttlBody = {
  type: 'object',
  additionalProperties: false,
  required: ['ttlMs'],
  properties: { ttlMs: {} },
} as const

/** Body of `POST /items`: `{ tenant, count? }`, nothing else. */
export const itemsBody = {
  type: 'object',
  additionalProperties: false,
  properties: { tenant: {}, count: {} },
} as const

/** Query of every counter route: optional `consistency`, nothing else. */
export const consistencyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { consistency: {} },
} as const

/** Query of routes that take none. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const

/** `:name` parameter. */
export const nameParams = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string' } },
} as const

/** `:tenant` parameter. */
export const tenantParams = {
  type: 'object',
  additionalProperties: false,
  properties: { tenant: { type: 'string' } },
} as const

/** Query of `GET /counters/:name`: optional `consistency` and `explain`, nothing else. */
export const counterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { consistency: {}, explain: {} },
} as const
