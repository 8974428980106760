// Bounded-counter writes through the gateway: forwarded like any write
// (failover, one Idempotency-Key on every attempt), and a decrement a node
// refuses for lack of rights (409 TALLY_BOUND_EXCEEDED) is tried again on the
// node that refusal names as holding the most rights, then on the one that
// node names, never twice on one node. Only the final answer is returned.

import { randomUUID } from 'node:crypto'
import { classify, errorOf } from './consistency.js'
import { RelayedError } from './errors.js'
import { type ForwardLimits, forward, type Served } from './forward.js'
import { type NodeEntry, Registry } from './registry.js'
import { send, type UpstreamRequest } from './upstream.js'

/** The code of a refused bounded decrement (the node's 409). */
export const BOUND_EXCEEDED = 'TALLY_BOUND_EXCEEDED'

/**
 * The node id a bounded refusal names as holding the most rights (`holder`
 * in its error body), or undefined when it names none. Pure.
 */
export function holderOf(err: RelayedError): string | undefined {
  const holder = (err.body.error as Record<string, unknown>).holder
  return typeof holder === 'string' && holder.length > 0 ? holder : undefined
}

/**
 * `POST path` (`/bounded/:name/increment|decrement`) with `{amount}`:
 * forwarded with failover; on a 409 TALLY_BOUND_EXCEEDED, retried on the
 * holder the refusal names (if the gateway knows it and has not tried it),
 * following each refusal's holder, at most once per node. The same key (the
 * client's, else a fresh UUID) and an increasing `Tally-Attempt` go with
 * every attempt. Resolves with the first 2xx; rejects with the last
 * refusal (RelayedError) when no holder could grant it, or with forward's
 * errors when no node answered at all. A holder that fails to answer (timeout,
 * 5xx) ends the chase with the last refusal.
 */
export async function boundedWrite(
  registry: Registry,
  limits: ForwardLimits,
  path: string,
  amount: number,
  clientKey: string | undefined,
): Promise<Served> {
  const key = clientKey ?? randomUUID()
  const req: Omit<UpstreamRequest, 'timeoutMs'> = {
    method: 'POST',
    path,
    body: { amount },
    headers: { 'idempotency-key': key },
  }
  let refusal: RelayedError
  try {
    return await forward(registry, req, limits, clientKey)
  } catch (err) {
    if (!(err instanceof RelayedError) || err.code !== BOUND_EXCEEDED) throw err
    refusal = err
  }
  const tried = new Set<string>([refusal.node])
  for (;;) {
    const holder = holderOf(refusal)
    const next = holder === undefined || tried.has(holder) ? undefined : byId(registry, holder)
    if (!next) throw refusal
    tried.add(holder as string)
    registry.events.retry()
    const headers = { 'idempotency-key': key, 'tally-attempt': String(tried.size) }
    const r = await once(registry, next, { ...req, headers, timeoutMs: limits.requestTimeoutMs })
    if (r instanceof RelayedError) {
      if (r.code !== BOUND_EXCEEDED) throw r
      refusal = r
    } else if (r === undefined) throw refusal
    else return r
  }
}

function byId(registry: Registry, id: string): NodeEntry | undefined {
  return registry.list().find((e) => e.id === id)
}

// One attempt on `node`: its answer, its refusal, or undefined when it did not answer usefully.
async function once(
  registry: Registry,
  node: NodeEntry,
  req: UpstreamRequest,
): Promise<Served | RelayedError | undefined> {
  node.inflight++
  try {
    const ans = await send(node.pool, req)
    const outcome = classify(ans.status, ans.json)
    if (outcome === 'retry') {
      registry.markFailure(node, `HTTP ${ans.status}`)
      return undefined
    }
    registry.markSuccess(node)
    const label = Registry.label(node)
    if (outcome === 'relay') {
      const e = errorOf(ans.json)
      if (e === undefined)
        return new RelayedError(ans.status, 'TALLY_UPSTREAM_ERROR', `node answered HTTP ${ans.status}`, label)
      return new RelayedError(
        ans.status,
        e.code,
        e.message,
        label,
        ans.json as { error: { code: string; message: string } },
      )
    }
    return { node, nodeId: label, json: ans.json as Record<string, unknown>, text: ans.text }
  } catch (err) {
    registry.markFailure(node, String(err))
    return undefined
  } finally {
    node.inflight--
  }
}
