// Prometheus metrics shared by the three servers: one prom-client Registry
// per app instance (never the global one, so several apps in one process —
// tests — keep separate series), the default process metrics, the
// `GET /metrics` route in the text exposition format, and a counter of HTTP
// requests by route pattern.

import type { FastifyInstance } from 'fastify'
import { Counter, type CounterConfiguration, collectDefaultMetrics, Registry } from 'prom-client'

/** Query schema of `GET /metrics`: it takes none (anything else → 400 TALLY_BAD_REQUEST). */
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const

/**
 * A fresh registry for one app instance, with prom-client's default process
 * metrics (CPU, memory, event loop lag, GC, handles) under their usual
 * `process_`/`nodejs_` names (`defaults: false` leaves them out). Never throws.
 */
export function createMetricsRegistry(opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry()
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry })
  return registry
}

/**
 * Registers `GET /metrics` on `app`, answering `registry`'s series in the
 * Prometheus text format (version 0.0.4). A query string is refused with
 * 400 TALLY_BAD_REQUEST. Collecting never blocks on I/O.
 */
export function metricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', { schema: { querystring: NO_QUERY } }, async (_req, reply) => {
    const text = await registry.metrics()
    reply.type(registry.contentType)
    return text
  })
}

/**
 * A counter whose value is read from elsewhere when scraped (`read()`), for
 * figures the code already keeps (transport, store, replication counters):
 * nothing is added to their hot paths. `read` must be cheap and monotonic.
 */
export function readCounter(
  registry: Registry,
  config: Omit<CounterConfiguration<string>, 'registers' | 'collect'>,
  read: () => number,
): Counter {
  return new Counter({
    ...config,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

/**
 * A counter with one label set per value of `read()` (e.g. bad frames by
 * reason), read when scraped. Keys must be a bounded set.
 */
export function readLabelledCounter(
  registry: Registry,
  config: Omit<CounterConfiguration<string>, 'registers' | 'collect'>,
  label: string,
  read: () => Readonly<Record<string, number>>,
): Counter {
  return new Counter({
    ...config,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [k, v] of Object.entries(read())) this.labels(k).inc(v)
    },
  })
}

/** What {@link countRequests} returns: the metric, and the way to count an answer sent outside fastify. */
export interface RequestCounts {
  readonly counter: Counter
  /**
   * Counts one answer sent by a request path that bypasses fastify's
   * routing (the gateway's hot routes): same series as an answer of the
   * route `route` (its pattern, e.g. `/counters/:name`). Never throws.
   */
  count(method: string, route: string, status: number): void
}

/**
 * Counts every request `app` answers as `tally_<prefix>requests_total{method,
 * route,status}`, where `route` is the route pattern (`/counters/:name`), or
 * `unmatched` for a 404 of an unknown URL: a bounded label set. The counts
 * are plain numbers in a nested cache (no per-request allocation once warm,
 * no label hashing per request), handed to prom-client when scraped: same
 * series, values and order as incrementing its children per request. Call
 * before the routes are registered.
 */
export function countRequests(app: FastifyInstance, registry: Registry, name: string): RequestCounts {
  type Cell = { readonly method: string; readonly route: string; readonly status: string; n: number }
  // In order of first request (prom-client prints its series in that order).
  const cells: Cell[] = []
  const counter = new Counter({
    name,
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
    collect() {
      this.reset()
      for (const c of cells) this.labels(c.method, c.route, c.status).inc(c.n)
    },
  })
  const cache = new Map<string, Map<string, Map<number, Cell>>>()
  const count = (method: string, route: string, status: number): void => {
    let byMethod = cache.get(route)
    if (byMethod === undefined) {
      byMethod = new Map()
      cache.set(route, byMethod)
    }
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) {
      byStatus = new Map()
      byMethod.set(method, byStatus)
    }
    let cell = byStatus.get(status)
    if (cell === undefined) {
      cell = { method, route, status: String(status), n: 0 }
      byStatus.set(status, cell)
      cells.push(cell)
    }
    cell.n++
  }
  app.addHook('onResponse', (req, reply, done) => {
    count(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode)
    done()
  })
  return { counter, count }
}

export type { Registry as MetricsRegistry } from 'prom-client'
