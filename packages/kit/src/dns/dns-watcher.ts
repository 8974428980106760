// Follows one DNS target: resolves it every interval and reports the
// endpoint list each time it changes. The only I/O is the injected lookup;
// `resolverLookup` is the real one (node:dns Resolver, optional server).

import { promises as dnsPromises } from 'node:dns'
import { type DnsAnswer, diffEndpoints, type EndpointDiff, endpointsOf } from './dns-answer.js'
import type { DnsTarget } from './dns-target.js'

/** One resolution of a target. May reject (timeout, SERVFAIL, unparsable answer). */
export type DnsLookup = (target: DnsTarget) => Promise<DnsAnswer>

/** Minimal logger (pino satisfies it). */
export interface DnsLog {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/** `node:dns` codes meaning "the name exists nowhere / has no such record": an empty answer, not a fault. */
const EMPTY_CODES = new Set(['ENODATA', 'ENOTFOUND'])

/**
 * The real lookup: a `node:dns` Resolver (its own cache-free client; the
 * system's servers unless `server`, a `setServers` entry such as
 * `127.0.0.1:5353`, is given). `a` targets ask A and AAAA at once and merge
 * them; a name with neither resolves to no addresses. Each query gives up
 * after `timeoutMs` (2 tries).
 */
export function resolverLookup(server: string | undefined, timeoutMs: number): DnsLookup {
  const resolver = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 2 })
  if (server !== undefined) resolver.setServers([server])
  return async (target) => {
    if (target.kind === 'srv') {
      try {
        return { srv: await resolver.resolveSrv(target.name) }
      } catch (err) {
        if (EMPTY_CODES.has((err as { code?: string }).code ?? '')) return { srv: [] }
        throw err
      }
    }
    const [v4, v6] = await Promise.allSettled([
      resolver.resolve4(target.name),
      resolver.resolve6(target.name),
    ])
    const addresses: string[] = []
    const errors: unknown[] = []
    for (const r of [v4, v6]) {
      if (r.status === 'fulfilled') addresses.push(...r.value)
      else if (!EMPTY_CODES.has((r.reason as { code?: string }).code ?? '')) errors.push(r.reason)
    }
    if (addresses.length === 0 && errors.length > 0) throw errors[0]
    return { addresses }
  }
}

/**
 * Delay before retrying after `failures` consecutive failed or empty
 * resolutions (1 = the first): doubling from `intervalMs`, capped at
 * `maxMs`, with equal jitter (`rand` in [0, 1)). Pure; in [intervalMs/2, maxMs].
 */
export function retryDelay(failures: number, intervalMs: number, maxMs: number, rand: () => number): number {
  const exp = Math.min(maxMs, intervalMs * 2 ** Math.min(Math.max(failures - 1, 0), 30))
  return Math.round(exp / 2 + (exp / 2) * rand())
}

/** Whether the `failures`-th failure in a row is logged at warn: the 1st, 2nd, 4th, 8th… (not every interval forever). Pure. */
export function shouldWarn(failures: number): boolean {
  return failures >= 1 && (failures & (failures - 1)) === 0
}

/** Options of {@link DnsWatcher}. */
export interface DnsWatcherOptions {
  readonly target: DnsTarget
  /** Period between two resolutions while they succeed, ms (> 0). */
  readonly intervalMs: number
  readonly lookup: DnsLookup
  /** Called with the full sorted endpoint list and the diff each time the list changes. Must not throw (logged if it does). */
  readonly onChange: (endpoints: string[], diff: EndpointDiff) => void
  readonly logger: DnsLog
  /** Cap of the retry back-off after failures, ms (default max(intervalMs, 60 s)). */
  readonly maxBackoffMs?: number
  readonly rand?: () => number
}

/** Outcome of one resolution. */
export type DnsPoll = 'changed' | 'unchanged' | 'empty' | 'failed'

/**
 * Follows `target`: resolves it at once on {@link start}, then every
 * `intervalMs`; after a failure or an answer with nothing usable, retries with
 * back-off and keeps the last good list (a bad answer changes nothing).
 * Failures are logged at warn on the 1st, 2nd, 4th… in a row, and recovery at
 * info. Never throws after construction; `start()` never blocks.
 */
export class DnsWatcher {
  readonly #o: DnsWatcherOptions
  readonly #maxBackoffMs: number
  readonly #rand: () => number
  #endpoints: string[] = []
  #failures = 0
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopped = false

  /** Validates options (RangeError on programmer mistakes); no I/O until `start()`. */
  constructor(opts: DnsWatcherOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be > 0')
    this.#o = opts
    this.#maxBackoffMs = opts.maxBackoffMs ?? Math.max(opts.intervalMs, 60_000)
    this.#rand = opts.rand ?? Math.random
  }

  /** The last good endpoint list (sorted `host:port`), empty before the first. */
  get endpoints(): readonly string[] {
    return this.#endpoints
  }

  /** Starts following the target; the first resolution runs in the background. Idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return
    this.#started = true
    void this.#loop()
  }

  /** Stops; a resolution in flight is ignored when it lands. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  async #loop(): Promise<void> {
    if (this.#stopped) return
    const outcome = await this.poll()
    if (this.#stopped) return
    const delay =
      outcome === 'failed' || outcome === 'empty'
        ? retryDelay(this.#failures, this.#o.intervalMs, this.#maxBackoffMs, this.#rand)
        : this.#o.intervalMs
    this.#timer = setTimeout(() => void this.#loop(), delay)
    this.#timer.unref()
  }

  /** One resolution now (used by the loop; exposed for tests). Never rejects. */
  async poll(): Promise<DnsPoll> {
    const { target, logger } = this.#o
    let answer: DnsAnswer
    try {
      answer = await this.#o.lookup(target)
    } catch (err) {
      if (this.#stopped) return 'failed'
      this.#failed({ err: String((err as Error)?.message ?? err), code: (err as { code?: unknown })?.code })
      return 'failed'
    }
    if (this.#stopped) return 'unchanged'
    const next = endpointsOf(target, answer)
    if (next === undefined) {
      this.#failed({ reason: 'no usable record in the answer' })
      return 'empty'
    }
    if (this.#failures > 0)
      logger.info({ name: target.name, failures: this.#failures }, 'dns discovery answers again')
    this.#failures = 0
    const diff = diffEndpoints(this.#endpoints, next)
    if (diff.added.length === 0 && diff.removed.length === 0) return 'unchanged'
    this.#endpoints = next
    logger.info(
      { name: target.name, added: diff.added, removed: diff.removed },
      'dns discovery endpoints changed',
    )
    try {
      this.#o.onChange(next, diff)
    } catch (err) {
      logger.warn({ err: String(err) }, 'dns discovery onChange threw')
    }
    return 'changed'
  }

  #failed(detail: object): void {
    this.#failures++
    const log = shouldWarn(this.#failures) ? this.#o.logger.warn : this.#o.logger.debug
    log.call(
      this.#o.logger,
      { name: this.#o.target.name, failures: this.#failures, kept: this.#endpoints.length, ...detail },
      'dns discovery: resolution failed, keeping the last answer and retrying with back-off',
    )
  }
}
