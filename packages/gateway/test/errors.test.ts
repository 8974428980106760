// The gateway's one code → status table, and its error handler: GatewayError
// (no status) is mapped by ERROR_STATUS, a node's answer is relayed unchanged.

import { SHARED_ERROR_STATUS } from '@tally/kit'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { ERROR_STATUS, GatewayError, type GatewayErrorCode, RelayedError } from '../src/errors.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function appThrowing(err: Error): Promise<FastifyInstance> {
  const app = await buildApp({
    nodes: [],
    discovery: [],
    strategy: 'round-robin',
    requestTimeoutMs: 100,
    healthIntervalMs: 1000,
    discoveryIntervalMs: 1000,
    maxAttempts: 1,
    deadlineMs: 100,
  })
  app.get('/throw', async () => {
    throw err
  })
  apps.push(app)
  return app
}

describe('ERROR_STATUS', () => {
  it('has every shared code with its one status, and the gateway codes', () => {
    for (const [code, status] of Object.entries(SHARED_ERROR_STATUS)) expect(ERROR_STATUS[code]).toBe(status)
    expect(ERROR_STATUS).toMatchObject({
      TALLY_TENANT_INVALID: 400,
      TALLY_CONSISTENCY_INVALID: 400,
      TALLY_UPSTREAM_FAILED: 502,
      TALLY_NO_NODES: 503,
      TALLY_QUORUM_UNAVAILABLE: 503,
      TALLY_UPSTREAM_TIMEOUT: 504,
      TALLY_VALUE_UNSAFE: 422,
    })
  })

  it('GatewayError carries no status', () => {
    expect('statusCode' in new GatewayError('TALLY_NO_NODES', 'none')).toBe(false)
  })
})

describe('error handler', () => {
  it.each(Object.entries(ERROR_STATUS).map(([code, status]) => [code as GatewayErrorCode, status] as const))(
    'GatewayError %s → %d in the house shape',
    async (code, status) => {
      const app = await appThrowing(new GatewayError(code, `because ${code}`))
      const res = await app.inject({ method: 'GET', url: '/throw' })
      expect(res.statusCode).toBe(status)
      expect(res.json()).toEqual({ error: { code, message: `because ${code}` } })
    },
  )

  it("relays a node's error answer unchanged, naming the node", async () => {
    const body = { error: { code: 'TALLY_QUORUM_TIMEOUT', message: 'm', confirmed: 1, required: 2 } }
    const app = await appThrowing(new RelayedError(504, 'TALLY_QUORUM_TIMEOUT', 'm', 'node-2', body))
    const res = await app.inject({ method: 'GET', url: '/throw' })
    expect(res.statusCode).toBe(504)
    expect(res.headers['x-tally-node']).toBe('node-2')
    expect(res.json()).toEqual(body)
  })

  it('an unexpected error is 500 TALLY_INTERNAL without its message', async () => {
    const app = await appThrowing(new Error('secret detail'))
    const res = await app.inject({ method: 'GET', url: '/throw' })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ error: { code: 'TALLY_INTERNAL', message: 'internal error' } })
  })
})
