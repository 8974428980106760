import { prng } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { Counter, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { countRequests, createFastify, httpError, SHARED_ERROR_STATUS } from '../src/index.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

const NAME = 'tally_test_requests_total'

// The same requests counted by prom-client's own labelled children, one inc() per answer.
function reference(app: FastifyInstance, registry: Registry): void {
  const c = new Counter({
    name: NAME,
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  })
  app.addHook('onResponse', (req, reply, done) => {
    c.labels(req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode)).inc()
    done()
  })
}

describe('countRequests', () => {
  it('prints exactly what prom-client’s children incremented per request print (seeded)', async () => {
    const mine = new Registry()
    const theirs = new Registry()
    const app = createFastify({ bodyLimit: 64, errors: { status: SHARED_ERROR_STATUS } })
    apps.push(app)
    countRequests(app, mine, NAME)
    reference(app, theirs)
    app.get('/a/:x', async (req) => {
      if ((req.params as { x: string }).x === 'bad') throw httpError('TALLY_BAD_REQUEST', 'bad')
      return { ok: true }
    })
    app.post('/b', async () => ({ ok: true }))
    await app.ready()
    expect(await mine.metrics()).toBe(await theirs.metrics()) // nothing counted yet
    const rnd = prng(7)
    for (let i = 0; i < 200; i++) {
      const r = rnd()
      if (r < 0.4) await app.inject({ method: 'GET', url: `/a/${r < 0.1 ? 'bad' : 'x'}` })
      else if (r < 0.7) await app.inject({ method: 'POST', url: '/b', payload: {} })
      else if (r < 0.85) await app.inject({ method: 'GET', url: '/nowhere' })
      else
        await app.inject({
          method: 'POST',
          url: '/b',
          headers: { 'content-type': 'text/plain' },
          payload: 'x',
        })
      if (i === 0 || i === 199) expect(await mine.metrics()).toBe(await theirs.metrics())
    }
    const text = await mine.metrics()
    expect(text).toContain(`${NAME}{method="GET",route="/a/:x",status="400"}`)
    expect(text).toContain(`${NAME}{method="GET",route="unmatched",status="404"}`)
    expect(text).toContain(`${NAME}{method="POST",route="/b",status="415"}`)
  })
  it('count() adds an answer sent outside fastify to the same series as the route’s own', async () => {
    const registry = new Registry()
    const app = createFastify({ bodyLimit: 64, errors: { status: SHARED_ERROR_STATUS } })
    apps.push(app)
    const counts = countRequests(app, registry, NAME)
    app.get('/a/:x', async () => ({ ok: true }))
    await app.ready()
    await app.inject({ method: 'GET', url: '/a/1' })
    counts.count('GET', '/a/:x', 200)
    counts.count('GET', '/a/:x', 200)
    counts.count('POST', '/hot', 503)
    const text = await registry.metrics()
    expect(text).toContain(`${NAME}{method="GET",route="/a/:x",status="200"} 3`)
    expect(text).toContain(`${NAME}{method="POST",route="/hot",status="503"} 1`)
    expect(counts.counter).toBeInstanceOf(Counter)
  })
})
