import type { RespListener } from '@tally/kit/resp'
import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterEach } from 'vitest'
import { type AppOptions, buildApp } from '../../src/app.js'
import { createGatewayResp } from '../../src/resp/resp-server.js'

/** Builds (and readies) a gateway in front of `fakes` (fake or real nodes) with test-friendly timings. */
export async function gatewayFor(
  fakes: ReadonlyArray<{ readonly url: string }>,
  over: Partial<AppOptions> = {},
): Promise<FastifyInstance> {
  const app = await buildApp({
    nodes: fakes.map((f) => f.url),
    discovery: [],
    strategy: 'round-robin',
    requestTimeoutMs: 1000,
    healthIntervalMs: 100,
    discoveryIntervalMs: 100,
    maxAttempts: 3,
    deadlineMs: 4000,
    // The dashboard's poll would add requests the tests count: on only where a test asks.
    sampleIntervalMs: 0,
    ...over,
  })
  await app.ready()
  // On a busy machine the first health check may time out; wait (bounded) until every node's id is known.
  // A node still unknown after that is the test's to notice (some start with nodes down).
  await until(() => app.gateway.registry.list().every((e) => e.id !== undefined), {
    what: 'every node id known',
    timeoutMs: 15_000,
    intervalMs: 50,
  }).catch(() => {})
  return app
}

/** Starts `app`'s RESP listener on 127.0.0.1, on a port the system picks, logging nothing; the caller closes it. */
export async function respFor(app: FastifyInstance): Promise<RespListener> {
  const resp = createGatewayResp({
    gateway: app.gateway,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  await resp.listen()
  return resp
}

/** The gateway and the nodes a test started; see {@link perTestGateway}. */
export interface PerTest<F extends { close(): Promise<unknown> }> {
  /** The gateway the test built, if any; closed first. */
  app: FastifyInstance | undefined
  /** The nodes (fake or real) the test started; closed after the gateway. */
  fakes: F[]
}

/**
 * Holder for the gateway and nodes each test of the calling file (or
 * `describe` block) starts: after each test the gateway is closed, then
 * every node, and both fields are reset. Call once, at the level whose
 * tests share it.
 */
export function perTestGateway<F extends { close(): Promise<unknown> }>(): PerTest<F> {
  const t: PerTest<F> = { app: undefined, fakes: [] }
  afterEach(async () => {
    await t.app?.close()
    t.app = undefined
    await Promise.all(t.fakes.splice(0).map((f) => f.close()))
  })
  return t
}
