// Schema compilers that do their work on first use instead of at start-up.
//
// fastify loads ajv and fast-json-stringify when the instance is built and
// compiles every route's schemas when it becomes ready: about a fifth of a
// server's start (ajv's own meta-schema alone is ~50 ms on the development
// machine) for routes that may never be called. These factories hand fastify
// the same compilers (fastify's defaults, with the options fastify passes)
// loaded on the first validation or serialization of any route, and compile
// each route's schema the first time that route needs it.

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

/**
 * A `schemaController.compilersFactory.buildValidator` that behaves as
 * fastify's default (ajv, the server's `ajv` options) but loads ajv on the
 * first validation and compiles a route's schema on the first request that
 * route validates. A schema ajv refuses therefore fails that route's first
 * request (500) instead of the start: every route's schemas must be
 * exercised by a test. fastify treats a custom compiler's `headers` schema
 * as given (not lower-cased): name header properties in lower case. Never
 * throws when called.
 */
export const lazyValidators: ValidatorFactory = (externalSchemas, options) => {
  let compile: ReturnType<ValidatorFactory> | undefined
  return ((route: Parameters<ReturnType<ValidatorFactory>>[0]) => {
    let fn: Validate | undefined
    const validate: Validate = (...args) => {
      compile ??= defaultValidators()(externalSchemas, options)
      fn ??= compile(route) as unknown as Validate
      const ok = fn(...args)
      // fastify reads the failures from the function it called.
      validate.errors = fn.errors
      return ok
    }
    return validate
  }) as unknown as ReturnType<ValidatorFactory>
}

/**
 * A `schemaController.compilersFactory.buildSerializer` that behaves as
 * fastify's default (fast-json-stringify, the server's `serializerOpts`) but
 * loads it on the first serialization and compiles a response schema on the
 * first reply that uses it. Never throws when called.
 */
export const lazySerializers: SerializerFactory = (externalSchemas, options) => {
  let compile: ReturnType<SerializerFactory> | undefined
  return ((route: Parameters<ReturnType<SerializerFactory>>[0]) => {
    let fn: ((data: unknown) => string) | undefined
    return (data: unknown) => {
      compile ??= defaultSerializers()(externalSchemas, options)
      fn ??= compile(route) as (data: unknown) => string
      return fn(data)
    }
  }) as unknown as ReturnType<SerializerFactory>
}
