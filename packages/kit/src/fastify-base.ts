// The fastify set-up the three servers share: no request logging, strict
// JSON-only bodies, and every refusal (router, parser, schema, route, core)
// answered in the house shape `{ "error": { "code", "message" } }`.

import { maxHeaderSize } from 'node:http'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify'
import { clientErrorHandler, missingHost } from './client-errors.js'
import { type ErrorExtra, HttpError, httpError, MESSAGES } from './http-errors.js'
import { findDuplicateKey } from './json-keys.js'
import { type LazyCompilers, lazyCompilers, type RouteSchema } from './lazy-compilers.js'

/**
 * How long after listening the schemas start compiling when no request
 * comes first, ms. A request (a readiness probe, typically) starts them at
 * once, after it is answered: a probe asked right at the `listening` line is
 * answered before ajv loads, not behind it.
 */
export const COMPILE_AFTER_LISTEN_MS = 100

/** Each app's compilers, for {@link routeSchemas}. */
const compilersOf = new WeakMap<FastifyInstance, LazyCompilers>()

/**
 * Every schema the routes of `app` (built by {@link createFastify}) handed to
 * its compilers, once the app is ready (empty before, and for another app).
 * ajv does not check schemas against the JSON-schema meta-schema
 * (`validateSchema: false`: compiling the meta-schema was the largest step
 * of a start), so a test checks these instead. Never throws.
 */
export function routeSchemas(app: FastifyInstance): readonly RouteSchema[] {
  return compilersOf.get(app)?.schemas ?? []
}

/**
 * Socket timeouts of every server, ms; each can be overridden through
 * `FastifyBaseOptions.fastify`. A request (head and body) must arrive within
 * `requestTimeout` (else 408 `TALLY_REQUEST_TIMEOUT`); a socket with no
 * traffic for `connectionTimeout` is closed; an idle keep-alive connection is
 * closed after `keepAliveTimeout`, shorter than `connectionTimeout` so the
 * server closes it cleanly (and tells clients so in `Keep-Alive: timeout=`)
 * before the idle timer destroys it.
 */
export const DEFAULT_SERVER_TIMEOUTS = {
  requestTimeout: 10_000,
  connectionTimeout: 30_000,
  keepAliveTimeout: 25_000,
} as const

/** How the error handler maps what it is handed; see {@link toHttpError}. */
export interface ErrorMapping {
  /** The package's ERROR_STATUS table: every code it can answer → its status. */
  readonly status: Readonly<Record<string, number>>
  /**
   * Component hook, tried first on every error that is not already an
   * HttpError: return an HttpError to answer with it, or undefined to fall
   * through to the common rules (e.g. the node's validation path → code).
   */
  readonly map?: (err: FastifyError, req: FastifyRequest) => HttpError | undefined
  /**
   * Component hook, run before anything else: answer the error itself and
   * return the reply, or return undefined to let the handler map it (e.g. the
   * gateway relays a node's own error answer unchanged, with its status).
   */
  readonly intercept?: (
    err: FastifyError,
    req: FastifyRequest,
    reply: FastifyReply,
  ) => FastifyReply | undefined
}

/** Options of {@link createFastify}. */
export interface FastifyBaseOptions {
  /** pino logger; default: no logging. */
  readonly logger?: FastifyBaseLogger | undefined
  /** Largest request body, bytes. */
  readonly bodyLimit: number
  /** Longest path parameter the router passes on (fastify's default 100); longer ones get 414. */
  readonly maxParamLength?: number
  /** How errors become answers. */
  readonly errors: ErrorMapping
  /** When the schemas start compiling if no request comes first, ms after listening; default {@link COMPILE_AFTER_LISTEN_MS}. */
  readonly compileAfterListenMs?: number
  /**
   * More fastify options (timeouts over {@link DEFAULT_SERVER_TIMEOUTS},
   * forceCloseConnections, …); cannot override the ones above nor the
   * client-error handler.
   */
  readonly fastify?: Omit<
    FastifyServerOptions,
    | 'logger'
    | 'loggerInstance'
    | 'bodyLimit'
    | 'routerOptions'
    | 'frameworkErrors'
    | 'logController'
    | 'clientErrorHandler'
  >
}

/**
 * A fastify instance with the house base: request logging off (and no
 * child logger per request: `req.log` is the server's logger), the router's
 * `maxParamLength`, ajv without coercion or removal (loaded and compiling
 * the routes' schemas from the first request or
 * {@link COMPILE_AFTER_LISTEN_MS} after listening, one per event-loop turn,
 * or on a route's first request that needs one: see lazy-compilers.ts), prototype poisoning
 * refused, routes' schemas not checked against the meta-schema (tests do
 * that: {@link routeSchemas}), one `application/json` parser (an empty body is no body, bad JSON
 * is 400 `TALLY_BAD_REQUEST` `body is not valid JSON`, a key repeated in one
 * object is 400 `TALLY_BAD_REQUEST` `duplicate key "k" in the JSON body`, any
 * other content type is 415), {@link DEFAULT_SERVER_TIMEOUTS}, the error,
 * not-found and framework-error handlers of {@link errorHandler}, and the
 * house answer to client faults that never reach a route: parser errors
 * (`clientErrorHandler`, see client-errors.ts) and an HTTP/1.1 request
 * without `Host` (400 `TALLY_BAD_REQUEST`, first `onRequest` hook). Routes
 * and other hooks are the caller's. Never listens.
 */
export function createFastify(opts: FastifyBaseOptions): FastifyInstance {
  const requestTimeout = opts.fastify?.requestTimeout ?? DEFAULT_SERVER_TIMEOUTS.requestTimeout
  // Called on client errors only, long after `app` exists.
  const log = (): FastifyBaseLogger => app.log
  const schemas = lazyCompilers()
  const app = Fastify({
    // No meta-schema check when compiling (routeSchemas: the test suite checks every route's schema).
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, validateSchema: false },
    },
    // ajv and fast-json-stringify load and compile once listening (or on first use), not before.
    schemaController: {
      compilersFactory: { buildValidator: schemas.buildValidator, buildSerializer: schemas.buildSerializer },
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ...DEFAULT_SERVER_TIMEOUTS,
    ...opts.fastify,
    // Node's own refusal of a request without Host has an empty body: the
    // onRequest hook below answers it in the house shape instead. Deadlines
    // are checked every second (Node's default is every 30 s), and the
    // headers must arrive within the request timeout.
    http: { requireHostHeader: false, connectionsCheckingInterval: 1_000, headersTimeout: requestTimeout },
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimit,
    // No per-request log lines: hot paths log nothing at info.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: opts.maxParamLength ?? 100 },
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(
      { maxHeaderBytes: maxHeaderSize, requestTimeoutMs: requestTimeout },
      log,
    ),
  }) as unknown as FastifyInstance

  compilersOf.set(app, schemas)
  // The schemas compile once the server listens, one per event-loop turn, so
  // the rest of the start and the first requests wait for one at most (a
  // request before its schema's turn compiles that one itself); they start
  // with the first request (which is answered first: they wait a turn) or
  // compileAfterListenMs after listening.
  let compiling = false
  let compileTimer: NodeJS.Timeout | undefined
  const startCompiles = (): void => {
    if (compiling) return
    compiling = true
    clearTimeout(compileTimer)
    void schemas.compileInTurns()
  }
  app.addHook('onListen', (done) => {
    compileTimer = setTimeout(startCompiles, opts.compileAfterListenMs ?? COMPILE_AFTER_LISTEN_MS).unref()
    done()
  })
  app.addHook('onClose', (_app, done) => {
    clearTimeout(compileTimer)
    done()
  })

  // A callback hook, not an async one: no promise per request on the hot path.
  app.addHook('onRequest', (req, reply, done) => {
    if (!compiling) startCompiles()
    const refused = missingHost(req.raw.httpVersion, req.headers.host)
    if (refused !== undefined) reply.header('connection', 'close')
    done(refused)
  })

  // JSON only: anything else is 415 rather than a string body. Many clients
  // send the header with an empty body: that is "no body".
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    parseJson(req, text, (err, value) => {
      if (err) return done(httpError('TALLY_BAD_REQUEST', MESSAGES.invalidJson), undefined)
      // JSON.parse keeps the last of two equal keys; refuse rather than guess.
      const dup = findDuplicateKey(text)
      if (dup !== undefined)
        return done(httpError('TALLY_BAD_REQUEST', MESSAGES.duplicateKey(dup)), undefined)
      done(null, value)
    })
  })

  // No child logger per request (a measurable share of a small request's CPU): request-scoped
  // lines are rare (errors, registrations) and name the request id themselves.
  app.setChildLoggerFactory((logger) => logger)
  app.setErrorHandler(errorHandler(opts.errors))
  app.setNotFoundHandler((req, reply) => {
    sendHttpError(
      reply,
      httpError('TALLY_NOT_FOUND', MESSAGES.notFound(req.method, req.url.split('?')[0] ?? '')),
    )
  })
  return app
}

/**
 * Maps anything fastify hands an error handler onto an {@link HttpError}:
 * an HttpError as is; then the component's `map`; a schema validation
 * failure → 400 `TALLY_BAD_REQUEST` with fastify's message; an error whose
 * `code` is in `status` (a DomainError, a @tally/crdt error, a catalog
 * error) → that status, its message and extra fields; body too large → 413;
 * media type → 415; any other 4xx (`FST_*` client errors) → 400
 * `TALLY_BAD_REQUEST`; anything else → 500 `TALLY_INTERNAL`. Pure.
 */
export function toHttpError(err: FastifyError, req: FastifyRequest, mapping: ErrorMapping): HttpError {
  if (err instanceof HttpError) return err
  const mapped = mapping.map?.(err, req)
  if (mapped !== undefined) return mapped
  if (err.validation) return httpError('TALLY_BAD_REQUEST', err.message)
  const code = typeof err.code === 'string' ? err.code : undefined
  const status = code === undefined ? undefined : mapping.status[code]
  if (code !== undefined && status !== undefined) {
    const extra = (err as { extra?: unknown }).extra
    return new HttpError(code, status, err.message, isExtra(extra) ? extra : undefined)
  }
  // A catalog error of its own (e.g. @fastify/error with a TALLY_ code) keeps its status.
  if (code?.startsWith('TALLY_') && typeof err.statusCode === 'number' && err.statusCode >= 400)
    return new HttpError(code, err.statusCode, err.message)
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return httpError('TALLY_BODY_TOO_LARGE', MESSAGES.bodyTooLarge(req.routeOptions.bodyLimit ?? 0))
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return httpError('TALLY_UNSUPPORTED_MEDIA_TYPE', MESSAGES.unsupportedMediaType)
  const sc = err.statusCode
  if (typeof sc === 'number' && sc >= 400 && sc < 500)
    return httpError('TALLY_BAD_REQUEST', String(err.message).slice(0, 300))
  return httpError('TALLY_INTERNAL', MESSAGES.internal)
}

function isExtra(x: unknown): x is ErrorExtra {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/** Sends `err` as the house error body with its status. Returns the reply. */
export function sendHttpError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.statusCode).send(err.body())
}

/**
 * The one error handler of a server: the component's `intercept`, else
 * {@link toHttpError}, then logs — an
 * unexpected error (answered 500 `TALLY_INTERNAL`) at `error` with its stack,
 * everything else (known 5xx states, client faults) at `debug` only — and
 * sends the house body.
 */
export function errorHandler(
  mapping: ErrorMapping,
): (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, req, reply) => {
    const answered = mapping.intercept?.(err, req, reply)
    if (answered !== undefined) return answered
    const e = toHttpError(err, req, mapping)
    if (e.statusCode >= 500) {
      if (e.code === 'TALLY_INTERNAL') req.log.error({ err, reqId: req.id }, 'unexpected error')
      // Known 5xx (no nodes, store fenced, quorum timeout) are states the
      // component logs once where they arise; one line per request would
      // flood the log during an outage.
      else req.log.debug({ reqId: req.id, code: e.code, msg: e.message }, 'request failed')
    } else req.log.debug({ reqId: req.id, code: e.code }, 'request refused')
    return sendHttpError(reply, e)
  }
}

// Router-level refusals (a path parameter longer than maxParamLength, a
// malformed URL) bypass the error handler: same body as every other refusal,
// the router's status (414, 400).
function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status =
    err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400
  void reply.code(status).send({ error: { code: 'TALLY_BAD_REQUEST', message: err.message } })
}
