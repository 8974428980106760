// Schema compilers that do their work after start-up instead of during it.
//
// fastify loads ajv and fast-json-stringify when the instance is built and
// compiles every route's schemas when it becomes ready: about a fifth of a
// server's start (ajv's own meta-schema alone is ~50 ms on the development
// machine), before it listens. These compilers are fastify's defaults (with
// the options fastify passes), loaded and run later: every schema is
// compiled by `compileInTurns()` (createFastify starts it after the server
// listens, with its first request or shortly after: one step per
// event-loop turn, so a request or the rest of the start never waits behind
// all of them) or `compileAll()`, or by the first request that needs it if
// that comes first. Every schema handed over is kept in `schemas` for the
// test that checks them against the meta-schema (ajv no longer does).

import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>
type Validate = ((...args: unknown[]) => unknown) & { errors?: unknown }

const require = createRequire(import.meta.url)
let validatorPool: ValidatorFactory | undefined
let serializerPool: SerializerFactory | undefined

/** fastify's default validator factory (`@fastify/ajv-compiler`), loaded on first call. */
function defaultValidators(): ValidatorFactory {
  validatorPool ??= (require('@fastify/ajv-compiler') as () => ValidatorFactory)()
  return validatorPool
}

/** fastify's default serializer factory (`@fastify/fast-json-stringify-compiler`), loaded on first call. */
function defaultSerializers(): SerializerFactory {
  serializerPool ??= (require('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()
  return serializerPool
}

/** Waits one event-loop turn (a macrotask: I/O callbacks due meanwhile run first). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** One schema a route handed to the compilers: which route, which part, the schema as written. */
export interface RouteSchema {
  readonly method: string
  readonly url: string
  /** `body`, `querystring`, `params`, `headers`, or `response <status>` (`response 200`, `response 2xx`). */
  readonly part: string
  readonly schema: unknown
}

/** The compilers of one fastify instance, and what is left to compile. */
export interface LazyCompilers {
  /**
   * `schemaController.compilersFactory.buildValidator`: fastify's default
   * (ajv, the server's `ajv` options), compiling each route's schema later.
   * A schema ajv refuses therefore fails that route's requests (500) instead
   * of the start: every route's schemas must be exercised by a test. fastify
   * treats a custom compiler's `headers` schema as given (not lower-cased):
   * name header properties in lower case.
   */
  readonly buildValidator: ValidatorFactory
  /** `schemaController.compilersFactory.buildSerializer`: fastify's default (fast-json-stringify), compiling later. */
  readonly buildSerializer: SerializerFactory
  /** Schemas handed over and not compiled yet. */
  readonly pending: number
  /**
   * Every schema handed over so far (compiled or not), in the order fastify
   * handed them (when the app becomes ready): what a test checks against
   * the JSON-schema meta-schema, which ajv no longer does (see
   * `validateSchema` in fastify-base.ts).
   */
  readonly schemas: readonly RouteSchema[]
  /**
   * Compiles every pending schema now (loading ajv / fast-json-stringify if
   * needed) and returns how many; blocks for the compile time (tens of ms
   * for a server's routes). A schema that does not compile is left for its
   * route's requests to report. Never throws.
   */
  compileAll(): number
  /**
   * Compiles every pending schema like {@link compileAll}, one step per
   * event-loop turn (loading ajv, then loading fast-json-stringify, then
   * each schema, each in a turn of its own), and resolves with how many it
   * compiled once none is pending. What is due meanwhile (a request, a
   * listen callback) waits for one step at most. Never rejects.
   */
  compileInTurns(): Promise<number>
}

/** Runs one step of the compiles; a failure (a schema ajv refuses) is left to the route, which meets it again. */
function compileOne(ready: () => unknown): void {
  try {
    ready()
  } catch {
    // Left to the route: its requests meet the same error and answer 500.
  }
}

/** Fresh {@link LazyCompilers} for one fastify instance. Never throws. */
export function lazyCompilers(): LazyCompilers {
  const pending = new Set<() => void>()
  const schemas: RouteSchema[] = []
  const buildValidator: ValidatorFactory = (externalSchemas, options) => {
    let compile: ReturnType<ValidatorFactory> | undefined
    return ((route: Parameters<ReturnType<ValidatorFactory>>[0]) => {
      schemas.push({
        method: route.method ?? '',
        url: route.url ?? '',
        part: route.httpPart ?? 'schema',
        schema: route.schema,
      })
      let fn: Validate | undefined
      const ready = (): Validate => {
        compile ??= defaultValidators()(externalSchemas, options)
        fn ??= compile(route) as unknown as Validate
        pending.delete(ready)
        return fn
      }
      pending.add(ready)
      const validate: Validate = (...args) => {
        const f = fn ?? ready()
        const ok = f(...args)
        // fastify reads the failures from the function it called.
        validate.errors = f.errors
        return ok
      }
      return validate
    }) as unknown as ReturnType<ValidatorFactory>
  }
  const buildSerializer: SerializerFactory = (externalSchemas, options) => {
    let compile: ReturnType<SerializerFactory> | undefined
    return ((route: Parameters<ReturnType<SerializerFactory>>[0]) => {
      schemas.push({
        method: route.method,
        url: route.url,
        part: `response ${route.httpStatus ?? ''}`,
        schema: route.schema,
      })
      let fn: ((data: unknown) => string) | undefined
      const ready = (): ((data: unknown) => string) => {
        compile ??= defaultSerializers()(externalSchemas, options)
        fn ??= compile(route) as (data: unknown) => string
        pending.delete(ready)
        return fn
      }
      pending.add(ready)
      return (data: unknown) => (fn ?? ready())(data)
    }) as unknown as ReturnType<SerializerFactory>
  }
  return {
    buildValidator,
    buildSerializer,
    get pending() {
      return pending.size
    },
    schemas,
    compileAll() {
      let n = 0
      for (const ready of [...pending]) {
        pending.delete(ready)
        n++
        compileOne(ready)
      }
      return n
    },
    async compileInTurns() {
      let n = 0
      if (pending.size > 0) {
        // Each compiler loads in a turn of its own (ajv alone is some 40 modules).
        await nextTurn()
        compileOne(defaultValidators)
        await nextTurn()
        compileOne(defaultSerializers)
      }
      for (;;) {
        await nextTurn()
        // A request may have compiled some meanwhile: take whatever is still pending.
        const ready = pending.values().next().value
        if (ready === undefined) return n
        pending.delete(ready)
        n++
        compileOne(ready)
      }
    },
  }
}
