// Alone in its file (a fresh worker): whether ajv is loaded says whether the schemas were compiled.
import { createRequire } from 'node:module'
import { afterEach, expect, it } from 'vitest'
import { createFastify, SHARED_ERROR_STATUS } from '../src/index.js'
import { Cleanup, until } from '../src/testing/index.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const cache = createRequire(import.meta.url).cache
const ajvLoaded = () => Object.keys(cache).some((p) => /[\\/]node_modules[\\/]ajv[\\/]/.test(p))

it('compiles the schemas after the server listens, without a request; requests then validate', async () => {
  const app = createFastify({ bodyLimit: 1024, errors: { status: SHARED_ERROR_STATUS } })
  cleanup.add(() => app.close())
  app.post(
    '/b',
    { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } } } },
    async (req) => req.body,
  )
  await app.ready()
  expect(ajvLoaded()).toBe(false)
  await app.listen({ host: '127.0.0.1', port: 0 })
  await until(ajvLoaded, { what: 'ajv loaded after listening', timeoutMs: 10_000 })
  const port = (app.server.address() as { port: number }).port
  const res = await fetch(`http://127.0.0.1:${port}/b`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":"x"}',
  })
  expect(res.status).toBe(400)
  expect(((await res.json()) as { error: { message: string } }).error.message).toBe('body/a must be integer')
})
