// Failover: send a request to one node, and on a node failure (connection
// error, timeout, 5xx) to another, within a bounded number of attempts and an
// overall deadline. Writes carry the same Idempotency-Key on every attempt,
// and `Tally-Attempt: n` (1 on the first node tried, 2 on the next…): if two
// nodes both apply the key, the later try is the one its node cancels.
// Also the fan-out of consistency reads (gather N replica answers).

import { classify, errorOf } from './consistency.js'
import { GatewayError, RelayedError } from './errors.js'
import { type NodeEntry, Registry } from './registry.js'
import { send, UpstreamError, type UpstreamRequest } from './upstream.js'

/** Limits of one client request. */
export interface ForwardLimits {
  /** Budget of one attempt on one node, ms. */
  readonly requestTimeoutMs: number
  /** Most nodes tried for one request. */
  readonly maxAttempts: number
  /** Budget of the whole request across attempts, ms. */
  readonly deadlineMs: number
}

/** A node's successful answer. */
export interface Served {
  readonly node: NodeEntry
  /** The node's id (or URL while unknown). */
  readonly nodeId: string
  readonly json: Record<string, unknown>
  /** The node's body as received (the text of `json`), for relaying without re-serialising. */
  readonly text: string
}

// `reached` is false only when the connection itself failed: the node surely never saw the request.
type Attempt = { ok: Served } | { relay: RelayedError } | { fail: string; reached: boolean }

/** One attempt on `node`, bookkeeping health and in-flight counts. Never rejects. */
async function attempt(reg: Registry, node: NodeEntry, req: UpstreamRequest): Promise<Attempt> {
  node.inflight++
  const t0 = performance.now()
  let answered = false
  try {
    const ans =
      req.method === 'GET' && req.headers === undefined && node.reads !== undefined
        ? await node.reads.get(req.path, req.timeoutMs)
        : req.pipelined === true && req.method === 'POST' && node.writes !== undefined
          ? await node.writes.post(req.path, req.headers ?? {}, req.body, req.timeoutMs)
          : await send(node.pool, req)
    const outcome = classify(ans.status, ans.json)
    if (outcome === 'retry') {
      const reason = `HTTP ${ans.status}${errorOf(ans.json) ? ` ${errorOf(ans.json)?.code}` : ''}`
      reg.markFailure(node, reason)
      return { fail: `${Registry.label(node)}: ${reason}`, reached: true }
    }
    reg.markSuccess(node)
    answered = true
    if (outcome === 'relay') {
      const err = errorOf(ans.json)
      if (err === undefined) {
        const message = `node answered HTTP ${ans.status}`
        return { relay: new RelayedError(ans.status, 'TALLY_UPSTREAM_ERROR', message, Registry.label(node)) }
      }
      const body = ans.json as { error: { code: string; message: string } }
      return { relay: new RelayedError(ans.status, err.code, err.message, Registry.label(node), body) }
    }
    const json = ans.json as Record<string, unknown>
    return { ok: { node, nodeId: Registry.label(node), json, text: ans.text } }
  } catch (err) {
    const reason = err instanceof UpstreamError ? `${err.kind}: ${err.message}` : String(err)
    reg.markFailure(node, reason)
    return {
      fail: `${Registry.label(node)}: ${reason}`,
      reached: !(err instanceof UpstreamError && err.kind === 'connect'),
    }
  } finally {
    node.inflight--
    reg.events.attempt((performance.now() - t0) / 1000, answered ? 'ok' : 'failed')
  }
}

/**
 * Sends `req` (its `timeoutMs` is replaced per attempt) to nodes chosen by the
 * registry until one answers 2xx or a relayable error. Resolves with the
 * answer; rejects with {@link RelayedError} (the node's 4xx or quorum
 * timeout), TALLY_NO_NODES (nothing known, every known node failed, or no
 * node could even be connected to), TALLY_UPSTREAM_TIMEOUT (deadline passed)
 * or TALLY_UPSTREAM_FAILED (`maxAttempts` nodes answered badly or timed out
 * while others were left untried). Each node is tried at
 * most once per request. With `affinity` (a client's Idempotency-Key) nodes are
 * chosen by rendezvous hashing on it, so a client's retry meets the node (and
 * its idempotency record) that served the first try whenever it is usable.
 * With `{ home }` (a plain read's home key) nodes are chosen by
 * {@link Registry.pickRead}: the read's home first, then the next in that
 * key's order.
 */
export async function forward(
  reg: Registry,
  req: Omit<UpstreamRequest, 'timeoutMs'>,
  limits: ForwardLimits,
  affinity?: string | { readonly home: string },
): Promise<Served> {
  const start = reg.now()
  const tried = new Set<string>()
  const failures: string[] = []
  let reached = false
  while (tried.size < limits.maxAttempts) {
    const left = limits.deadlineMs - (reg.now() - start)
    if (left <= 0)
      throw new GatewayError(
        'TALLY_UPSTREAM_TIMEOUT',
        `no node answered within ${limits.deadlineMs} ms (${failures.join('; ')})`,
      )
    const node = typeof affinity === 'object' ? reg.pickRead(tried, affinity.home) : reg.pick(tried, affinity)
    if (!node) break
    tried.add(node.key)
    if (tried.size > 1) reg.events.retry()
    const headers =
      req.method !== 'GET' ? { ...req.headers, 'tally-attempt': String(tried.size) } : req.headers
    const r = await attempt(reg, node, {
      ...req,
      ...(headers ? { headers } : {}),
      timeoutMs: Math.min(limits.requestTimeoutMs, left),
    })
    if ('ok' in r) return r.ok
    if ('relay' in r) throw r.relay
    failures.push(r.fail)
    reached ||= r.reached
  }
  if (tried.size === 0)
    throw new GatewayError('TALLY_NO_NODES', 'the gateway knows no node (check --nodes / --discovery)')
  if (!reached || tried.size >= reg.size) {
    throw new GatewayError('TALLY_NO_NODES', `no node could serve the request (${failures.join('; ')})`)
  }
  throw new GatewayError('TALLY_UPSTREAM_FAILED', `${tried.size} attempt(s) failed: ${failures.join('; ')}`)
}

/**
 * Gets `k` successful answers to `req` from `k` distinct nodes, in parallel:
 * k lanes, each trying untried nodes in turn until one answers. Resolves with
 * exactly k answers; rejects with TALLY_QUORUM_UNAVAILABLE saying how many
 * answered when fewer than k did (every known node tried, or the deadline
 * passed), or with a {@link RelayedError} when a node refuses the request (4xx).
 */
export async function gather(
  reg: Registry,
  req: Omit<UpstreamRequest, 'timeoutMs'>,
  k: number,
  limits: ForwardLimits,
): Promise<Served[]> {
  const start = reg.now()
  const tried = new Set<string>()
  const got: Served[] = []
  const failures: string[] = []
  let relay: RelayedError | undefined
  const lane = async (): Promise<void> => {
    while (got.length < k && relay === undefined) {
      const left = limits.deadlineMs - (reg.now() - start)
      if (left <= 0) return
      const node = reg.pick(tried)
      if (!node) return
      if (tried.size >= k) reg.events.retry()
      tried.add(node.key)
      const r = await attempt(reg, node, { ...req, timeoutMs: Math.min(limits.requestTimeoutMs, left) })
      if ('ok' in r) {
        got.push(r.ok)
        return
      }
      if ('relay' in r) relay = r.relay
      else failures.push(r.fail)
    }
  }
  await Promise.all(Array.from({ length: k }, lane))
  if (relay !== undefined && got.length < k) throw relay
  if (got.length < k) {
    const why = failures.length > 0 ? ` (${failures.join('; ')})` : ''
    throw new GatewayError(
      'TALLY_QUORUM_UNAVAILABLE',
      `${k} replica(s) required, ${got.length} answered, ${reg.size} node(s) known${why}`,
    )
  }
  return got.slice(0, k)
}
