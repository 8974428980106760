import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createFastify, SHARED_ERROR_STATUS } from '../src/index.js'
import { lazyCompilers } from '../src/lazy-compilers.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

function make(): FastifyInstance {
  const app = createFastify({ bodyLimit: 1024, errors: { status: SHARED_ERROR_STATUS } })
  apps.push(app)
  app.get(
    '/q',
    { schema: { querystring: { type: 'object', properties: { n: { type: 'string', maxLength: 2 } } } } },
    async (req) => req.query,
  )
  app.post(
    '/b',
    { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } } } },
    async (req) => req.body,
  )
  app.get(
    '/r',
    { schema: { response: { 200: { type: 'object', properties: { kept: { type: 'integer' } } } } } },
    async () => ({ kept: 1, dropped: 2 }),
  )
  // A schema ajv refuses: compiled (and refused) only when the route first validates.
  app.get('/broken', { schema: { querystring: { type: 'no-such-type' } } }, async () => 'unreachable')
  return app
}

describe('lazyCompilers', () => {
  it('holds every schema until compileAll (or a request) compiles it; a schema that does not compile is left to its route', async () => {
    const lazy = lazyCompilers()
    const app = Fastify({ schemaController: { compilersFactory: lazy } })
    apps.push(app)
    app.post(
      '/b',
      { schema: { body: { type: 'object', properties: { a: { type: 'integer' } } } } },
      async () => 'ok',
    )
    app.get(
      '/r',
      { schema: { response: { 200: { type: 'object', properties: { k: { type: 'integer' } } } } } },
      async () => ({ k: 1, x: 2 }),
    )
    app.get('/broken', { schema: { querystring: { type: 'no-such-type' } } }, async () => 'unreachable')
    await app.ready()
    // The two GET routes' HEAD twins hold the same schemas again.
    expect(lazy.pending).toBe(5)
    expect(lazy.compileAll()).toBe(5)
    expect(lazy.pending).toBe(0)
    expect(lazy.compileAll()).toBe(0)
    expect((await app.inject({ method: 'POST', url: '/b', payload: { a: 'x' } })).statusCode).toBe(400)
    expect((await app.inject({ method: 'GET', url: '/r' })).body).toBe('{"k":1}')
    expect((await app.inject({ method: 'GET', url: '/broken' })).statusCode).toBe(500)
  })

  it('compileInTurns compiles one schema per event-loop turn until none is pending', async () => {
    const lazy = lazyCompilers()
    const app = Fastify({ schemaController: { compilersFactory: lazy } })
    apps.push(app)
    for (const name of ['a', 'b', 'c'])
      app.post(
        `/${name}`,
        { schema: { body: { type: 'object', properties: { [name]: { type: 'integer' } } } } },
        async () => 'ok',
      )
    await app.ready()
    expect(lazy.pending).toBe(3)
    // A watcher running once per turn sees the pending count fall by one at a time.
    const seen: number[] = []
    let watching = true
    const watch = (): void => {
      seen.push(lazy.pending)
      if (watching) setImmediate(watch)
    }
    setImmediate(watch)
    expect(await lazy.compileInTurns()).toBe(3)
    watching = false
    expect(lazy.pending).toBe(0)
    expect(seen).toEqual(expect.arrayContaining([3, 2, 1]))
    for (let i = 1; i < seen.length; i++) expect((seen[i - 1] ?? 0) - (seen[i] ?? 0)).toBeLessThanOrEqual(1)
    expect((await app.inject({ method: 'POST', url: '/b', payload: { b: 'x' } })).statusCode).toBe(400)
    expect(await lazy.compileInTurns()).toBe(0)
  })

  it('a request before compileAll compiles its own schema (and only that one)', async () => {
    const lazy = lazyCompilers()
    const app = Fastify({ schemaController: { compilersFactory: lazy } })
    apps.push(app)
    app.post(
      '/b',
      { schema: { body: { type: 'object', properties: { a: { type: 'integer' } } } } },
      async () => 'ok',
    )
    app.post(
      '/c',
      { schema: { body: { type: 'object', properties: { c: { type: 'integer' } } } } },
      async () => 'ok',
    )
    await app.ready()
    expect((await app.inject({ method: 'POST', url: '/b', payload: { a: 1 } })).statusCode).toBe(200)
    expect(lazy.pending).toBe(1)
  })
})

describe('schema compilers loaded and compiled on first use', () => {
  it('starts with a route whose schema does not compile; that route answers 500, the others validate', async () => {
    const app = make()
    // fastify's eager compilers refuse this at ready (FST_ERR_SCH_VALIDATION_BUILD).
    await expect(app.ready()).resolves.toBeDefined()
    const broken = await app.inject({ method: 'GET', url: '/broken' })
    expect(broken.statusCode).toBe(500)
    expect(broken.json().error.code).toBe('TALLY_INTERNAL')
    const q = await app.inject({ method: 'GET', url: '/q?n=abc' })
    expect(q.statusCode).toBe(400)
    expect(q.json().error).toEqual({
      code: 'TALLY_BAD_REQUEST',
      message: 'querystring/n must NOT have more than 2 characters',
    })
    expect((await app.inject({ method: 'GET', url: '/q?n=ab' })).json()).toEqual({ n: 'ab' })
  })

  it('validates each route with its own schema, on every request (not only the first)', async () => {
    const app = make()
    for (let i = 0; i < 3; i++) {
      const bad = await app.inject({ method: 'POST', url: '/b', payload: { a: 'x' } })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.message).toBe('body/a must be integer')
      const missing = await app.inject({ method: 'POST', url: '/b', payload: {} })
      expect(missing.json().error.message).toBe("body must have required property 'a'")
      const ok = await app.inject({ method: 'POST', url: '/b', payload: { a: i } })
      expect(ok.json()).toEqual({ a: i })
    }
  })

  it('serializes a reply with its response schema (fields outside it are left out)', async () => {
    const app = make()
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'GET', url: '/r' })
      expect(res.body).toBe('{"kept":1}')
    }
  })
})
