// JSON schemas of the discovery routes: request shapes (value rules the
// schema cannot state are checked in validate.ts) and response shapes (fast
// serialisation, and nothing but these fields can leak out).

import { MAX_ADDR_LENGTH, MAX_URL_LENGTH, NODE_ID_PATTERN } from '../validate.js'

const id = { type: 'string', pattern: NODE_ID_PATTERN } as const

/** One entry of `GET /peers` and of the `/register` answer. */
export const peerView = {
  type: 'object',
  required: ['id', 'addr', 'http', 'lastSeen', 'status'],
  properties: {
    id: { type: 'string' },
    addr: { type: 'string' },
    http: { type: 'string' },
    lastSeen: { type: 'string' },
    status: { type: 'string' },
  },
} as const

/** Body of `POST /register`: `{ id, addr, http }`, nothing else. */
export const registerBody = {
  type: 'object',
  required: ['id', 'addr', 'http'],
  additionalProperties: false,
  properties: {
    id,
    addr: { type: 'string', minLength: 1, maxLength: MAX_ADDR_LENGTH },
    http: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH },
  },
} as const

/** Answer of `POST /register`: the live list and its version. */
export const registerAnswer = {
  type: 'object',
  required: ['peers', 'version'],
  properties: { peers: { type: 'array', items: peerView }, version: { type: 'string' } },
} as const

/** Body of `POST /heartbeat`: `{ id }`, nothing else. */
export const heartbeatBody = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id },
} as const

/** `:id` parameter. */
export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id },
} as const
