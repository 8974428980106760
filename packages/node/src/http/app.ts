// The HTTP API of a node as a fastify app: the fastify instance and its
// request parsing (createFastify), the load tracker, the one error handler,
// and the route plugins (routes/). No listen(), no env: server.ts does that;
// tests call app.inject().

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { TallyNode } from '../node.js'
import { errorHandler, notFoundHandler } from './error-handler.js'
import { trackLoad } from './load.js'
import { clusterRoutes } from './routes/cluster.js'
import { counterRoutes } from './routes/counters.js'

/** Options of {@link buildApp}. */
export interface AppOptions {
  node: TallyNode
  /** pino logger for fastify; default: silent. */
  logger?: Logger
  /** Largest accepted request body, bytes (default 4 KiB: bodies are tiny). */
  bodyLimit?: number
}

/**
 * Builds the node's fastify app (routes, schemas, error handler). Does not
 * listen. The caller closes it; closing the app does not stop the node.
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const app = createFastify(opts)
  const load = trackLoad(app)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.register(counterRoutes, { node: opts.node })
  app.register(clusterRoutes, { node: opts.node, load })
  return app
}

/**
 * The fastify instance with the node's request rules: a body limit, JSON
 * bodies only, strict schemas, the error body for router-level refusals, no
 * per-request logging. No routes, no error handler.
 */
function createFastify(opts: Pick<AppOptions, 'logger' | 'bodyLimit'>): FastifyInstance {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 4096,
    // Names are up to 128 characters; longer ones must reach the handler to get TALLY_NAME_INVALID.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkError,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance

  // JSON only: anything else is 415 rather than a string body. An empty JSON
  // body means "no body" (amount 1), as many clients send the header anyway.
  // JSON.parse makes `__proto__` an own property, which the strict schemas refuse.
  app.removeContentTypeParser(['text/plain', 'application/json'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new NodeError(NodeErrorCodes.BAD_REQUEST, 'body is not valid JSON'), undefined)
    }
  })
  return app
}

// Router-level refusals (a path parameter longer than maxParamLength, a malformed URL)
// bypass the error handler: they get the same error body as every other refusal.
function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(err.statusCode ?? 400).send({ error: { code: 'TALLY_BAD_REQUEST', message: err.message } })
}
