// The gateway's background loops: active health checks of every node and
// the discovery poll. Thin I/O shell over the registry; parsing is pure.

import { isValidReplicaId } from '@tally/crdt'
import { toOrigin } from '@tally/kit'
import { request } from 'undici'
import { shouldProbe } from './health.js'
import type { DiscoveredNode, NodeEntry, NodeLoad, Registry } from './registry.js'
import { send, UpstreamError } from './upstream.js'

/** Minimal logger the loops need (pino satisfies it). */
export interface Log {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/** Largest discovery answer read, bytes. */
const MAX_PEERS_BYTES = 4 * 1024 * 1024

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0
}

/**
 * Reads a node's `GET /health` body: `{ id, status: "ok", load: { inflight,
 * eventLoopDelayMs } }` (load optional). Undefined when the body is not a
 * healthy answer. Pure, never throws.
 */
export function parseHealth(json: unknown): { id: string; load: NodeLoad | undefined } | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const { id, status, load } = json as { id?: unknown; status?: unknown; load?: unknown }
  if (!isValidReplicaId(id) || status !== 'ok') return undefined
  let parsed: NodeLoad | undefined
  if (typeof load === 'object' && load !== null) {
    const { inflight, eventLoopDelayMs } = load as { inflight?: unknown; eventLoopDelayMs?: unknown }
    if (isCount(inflight) && isCount(eventLoopDelayMs)) parsed = { inflight, eventLoopDelayMs }
  }
  return { id, load: parsed }
}

/**
 * Reads a discovery `GET /peers` body: an array of `{ id, http, status? }`.
 * Entries without a valid id and http(s) URL, or whose status says they are
 * gone (`dead`, `expired`, `down`, `left`), are skipped. Pure, never throws.
 */
export function parsePeers(json: unknown): DiscoveredNode[] | undefined {
  const list = Array.isArray(json) ? json : (json as { peers?: unknown } | null)?.peers
  if (!Array.isArray(list)) return undefined
  const out: DiscoveredNode[] = []
  for (const p of list) {
    if (typeof p !== 'object' || p === null) continue
    const { id, http, status } = p as { id?: unknown; http?: unknown; status?: unknown }
    if (!isValidReplicaId(id) || typeof http !== 'string') continue
    if (typeof status === 'string' && ['dead', 'expired', 'down', 'left'].includes(status)) continue
    const origin = toOrigin(http)
    if (origin !== undefined) out.push({ id, http: origin })
  }
  return out
}

/** Probes one node's `/health` and records the result. Never rejects. */
export async function checkNode(reg: Registry, e: NodeEntry, timeoutMs: number, log: Log): Promise<void> {
  const before = e.health.health
  try {
    const ans = await send(e.pool, { method: 'GET', path: '/health', timeoutMs })
    const h = ans.status === 200 ? parseHealth(ans.json) : undefined
    if (!h) {
      reg.markFailure(e, `health check: HTTP ${ans.status}`)
    } else {
      e.id = h.id
      e.load = h.load
      reg.markSuccess(e)
    }
  } catch (err) {
    reg.markFailure(
      e,
      `health check: ${err instanceof UpstreamError ? `${err.kind}: ${err.message}` : String(err)}`,
    )
  }
  if (before !== e.health.health) {
    log.info(
      { node: e.id ?? e.key, from: before, to: e.health.health, reason: e.health.lastError },
      'node health changed',
    )
  }
}

/** Probes every node due for a check (ejected ones only once their back-off has passed). */
export async function checkAll(reg: Registry, timeoutMs: number, log: Log): Promise<void> {
  const now = reg.now()
  await Promise.all(
    reg
      .list()
      .filter((e) => shouldProbe(e.health, now))
      .map((e) => checkNode(reg, e, timeoutMs, log)),
  )
}

/**
 * Polls every discovery URL and replaces the registry's discovered set with
 * the union of their answers. When none answers, the last known set is kept
 * (discovery down must not empty the gateway). Never rejects.
 */
export async function refreshDiscovery(
  reg: Registry,
  urls: readonly string[],
  token: string | undefined,
  timeoutMs: number,
  log: Log,
): Promise<boolean> {
  const results = await Promise.all(
    urls.map(async (u) => {
      try {
        const headers: Record<string, string> = { accept: 'application/json' }
        if (token !== undefined) headers.authorization = `Bearer ${token}`
        const res = await request(`${u}/peers`, {
          method: 'GET',
          headers,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        })
        const text = await res.body.text()
        if (res.statusCode !== 200 || text.length > MAX_PEERS_BYTES) {
          log.warn({ discovery: u, status: res.statusCode }, 'discovery answered with an error')
          return undefined
        }
        return parsePeers(JSON.parse(text))
      } catch (err) {
        log.warn({ discovery: u, err: String(err) }, 'discovery unreachable')
        return undefined
      }
    }),
  )
  const answered = results.filter((r): r is DiscoveredNode[] => r !== undefined)
  if (answered.length === 0) return false
  const byUrl = new Map<string, DiscoveredNode>()
  for (const list of answered) for (const d of list) byUrl.set(d.http, d)
  reg.setDiscovered([...byUrl.values()])
  return true
}

/** A self-rescheduling loop (no overlap: the next run is scheduled after the previous one finished). */
export class Loop {
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  readonly #run: () => Promise<unknown>
  readonly #intervalMs: number

  /** `run` must not reject. */
  constructor(run: () => Promise<unknown>, intervalMs: number) {
    this.#run = run
    this.#intervalMs = intervalMs
  }

  /** Runs once now, then every interval until {@link stop}. Resolves after the first run. */
  async start(): Promise<void> {
    await this.#run()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#run()
        .catch(() => {}) // runs report their own failures; a stray rejection must not stop the loop
        .finally(() => this.#schedule())
    }, this.#intervalMs)
    this.#timer.unref()
  }

  /** Stops the loop; a run in progress finishes on its own. */
  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
  }
}
