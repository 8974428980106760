// Every route schema of the three servers is a valid JSON schema (draft-07,
// ajv's default meta-schema) that ajv compiles in strict mode. The servers'
// ajv does not check schemas against the meta-schema when compiling them
// (`validateSchema: false` in kit's fastify-base.ts: compiling the
// meta-schema was the largest step of a start), so a malformed schema is
// caught here instead of at start.

import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp as buildDiscovery } from '../packages/discovery/src/app.ts'
import { buildApp as buildGateway } from '../packages/gateway/src/app.ts'
import { type RouteSchema, routeSchemas } from '../packages/kit/src/index.ts'
import { buildApp as buildNode } from '../packages/node/src/http/app.ts'
import type { TallyNode } from '../packages/node/src/node.ts'
import { MemoryNetwork } from '../packages/node/src/wire/memory-transport.ts'
import { startSim } from '../packages/node/test/support/sim.ts'

/**
 * What is wrong with `schema`, or undefined: its meta-schema errors, else the
 * error of compiling it with the servers' options in strict mode (unknown
 * keywords, ignored `additionalItems`, …).
 */
function schemaFault(schema: unknown): string | undefined {
  const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true, strict: true })
  if (!ajv.validateSchema(schema as object)) return ajv.errorsText(ajv.errors)
  try {
    ajv.compile(schema as object)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

const apps: FastifyInstance[] = []
let node: TallyNode | undefined
const servers: { name: string; schemas: readonly RouteSchema[] }[] = []

beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'route-schemas', [])).node
  const nodeApp = buildNode({ node })
  const gateway = await buildGateway({
    nodes: ['http://127.0.0.1:1'],
    discovery: [],
    strategy: 'round-robin',
    requestTimeoutMs: 2000,
    healthIntervalMs: 60_000,
    discoveryIntervalMs: 60_000,
    maxAttempts: 1,
    deadlineMs: 2000,
  })
  const discovery = await buildDiscovery({ ttlMs: 60_000 })
  for (const [name, app] of [
    ['node', nodeApp],
    ['gateway', gateway],
    ['discovery', discovery],
  ] as const) {
    apps.push(app)
    await app.ready()
    servers.push({ name, schemas: routeSchemas(app) })
  }
})

afterAll(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
  await node?.stop()
})

describe('route schemas', () => {
  it('the check refuses what the meta-schema or strict ajv refuses, and passes a good schema', () => {
    expect(
      schemaFault({ type: 'object', properties: { a: { type: 'integer', minimum: 0 } } }),
    ).toBeUndefined()
    expect(schemaFault({ type: 'object', required: 'a' })).toMatch(/required must be array/)
    expect(schemaFault({ type: 'integr' })).toMatch(/type/)
    expect(schemaFault({ type: 'string', maxLenght: 3 })).toMatch(/unknown keyword/)
  })

  it('every route schema of the node, the gateway and discovery is valid', () => {
    expect(servers.map((s) => s.name)).toEqual(['node', 'gateway', 'discovery'])
    for (const { name, schemas } of servers) {
      // Each server validates request bodies or queries: an empty list means the schemas were not seen.
      expect(schemas.length, `${name}: no route schemas seen`).toBeGreaterThan(0)
      const faults = schemas.flatMap((s) => {
        const fault = schemaFault(s.schema)
        return fault === undefined ? [] : [`${name} ${s.method} ${s.url} ${s.part}: ${fault}`]
      })
      expect(faults).toEqual([])
    }
  })

  it('sees the schemas of request bodies and query strings', () => {
    const parts = new Set(servers.flatMap((s) => s.schemas.map((r) => r.part.split(' ')[0])))
    expect(parts).toContain('body')
    expect(parts).toContain('querystring')
  })
})
