// Alone in its file (a fresh worker): whether ajv is loaded says whether the schemas were compiled.
import { createRequire } from 'node:module'
import { afterEach, expect, it } from 'vitest'
import { createFastify, SHARED_ERROR_STATUS } from '../src/index.js'
import { Cleanup, until } from '../src/testing/index.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const cache = createRequire(import.meta.url).cache
const ajvLoaded = () => Object.keys(cache).some((p) => /[\\/]node_modules[\\/]ajv[\\/]/.test(p))

it('answers the first request before loading ajv, then compiles the schemas without another request', async () => {
  // No compile on a timer within the test: only the first request can start them.
  const app = createFastify({
    bodyLimit: 1024,
    errors: { status: SHARED_ERROR_STATUS },
    compileAfterListenMs: 600_000,
  })
  cleanup.add(() => app.close())
  app.get('/health', async () => ({ ajvLoaded: ajvLoaded() }))
  app.post(
    '/b',
    { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } } } },
    async (req) => req.body,
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  expect(health.status).toBe(200)
  expect(await health.json()).toEqual({ ajvLoaded: false })
  await until(ajvLoaded, { what: 'ajv loaded after the first request', timeoutMs: 10_000 })
  const res = await fetch(`http://127.0.0.1:${port}/b`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":"x"}',
  })
  expect(res.status).toBe(400)
  expect(((await res.json()) as { error: { message: string } }).error.message).toBe('body/a must be integer')
})
