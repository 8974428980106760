// Property: RESP and HTTP are two doors to the same counters. Random
// interleavings of writes through either, then every read through either
// agrees with a model.
import { RawResp } from '@tally/kit/testing'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import { type RespFixture, startRespNode } from './support.js'

let f: RespFixture
let app: FastifyInstance
let c: RawResp
beforeAll(async () => {
  f = await startRespNode({}, 'agree')
  app = buildApp({ node: f.node })
  await app.ready()
  c = await RawResp.open(f.port)
})
afterAll(async () => {
  c.close()
  await app.close()
  await f.stop()
})

const NAMES = ['user:42', 'rl:{t}/login', 'views@2026-12-01', 'page|home']
const op = fc.record({
  via: fc.constantFrom('resp', 'http'),
  name: fc.constantFrom(...NAMES),
  delta: fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0),
})

describe('RESP and HTTP agree', () => {
  it('on the same counters under random interleavings', async () => {
    let round = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const prefix = `r${round++}:`
        const model = new Map<string, number>()
        // Issue everything at once: RESP writes pipeline, HTTP writes interleave with them.
        const pending: Promise<unknown>[] = []
        for (const o of ops) {
          const name = prefix + o.name
          model.set(name, (model.get(name) ?? 0) + o.delta)
          if (o.via === 'resp') c.command('INCRBY', name, String(o.delta))
          else {
            const path = `/counters/${encodeURIComponent(name)}/${o.delta > 0 ? 'increment' : 'decrement'}`
            pending.push(app.inject({ method: 'POST', url: path, payload: { amount: Math.abs(o.delta) } }))
          }
        }
        for (const o of ops) if (o.via === 'resp') expect(typeof (await c.read())).toBe('number')
        for (const r of (await Promise.all(pending)) as Array<{ statusCode: number }>)
          expect(r.statusCode).toBe(200)
        for (const n of NAMES) {
          const name = prefix + n
          const want = model.get(name)
          expect(await c.call('GET', name)).toBe(want === undefined ? null : String(want))
          const h = await app.inject(`/counters/${encodeURIComponent(name)}`)
          expect(h.json()).toEqual({ name, value: want ?? 0 })
        }
      }),
      { seed: 4242, numRuns: 40 },
    )
  })
})
