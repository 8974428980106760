// `--discovery dns:NAME:PORT` / `dns+srv:…` on the gateway: the nodes are
// whatever the name lists, PORT (or the SRV port) being their HTTP port.
// Feeds the registry's DNS set each time the answer changes.

import { type DnsLog, type DnsLookup, type DnsTarget, DnsWatcher, resolverLookup, toOrigin } from '@tally/kit'
import type { Registry } from './registry.js'

/** Longest a single DNS query may take before it counts as failed, ms. */
export const DNS_QUERY_TIMEOUT_MS = 2000

/** DNS discovery settings of the gateway. */
export interface DnsSourceOptions {
  readonly target: DnsTarget
  /** Period between two resolutions, ms (> 0). */
  readonly intervalMs: number
  /** Resolver (`IP:PORT`); undefined = the system's. */
  readonly server?: string | undefined
  /** Replaces the real resolver (tests). */
  readonly lookup?: DnsLookup
}

/** Pure: HTTP origins of `host:port` endpoints (`http://host:port`), unusable ones dropped. */
export function originsOf(endpoints: readonly string[]): string[] {
  const out: string[] = []
  for (const e of endpoints) {
    const o = toOrigin(`http://${e}`)
    if (o !== undefined && !out.includes(o)) out.push(o)
  }
  return out
}

/**
 * A watcher feeding `registry.setDnsNodes` with the name's endpoints. Not
 * started: the caller calls `start()` (returns at once) and `stop()`.
 */
export function dnsSource(registry: Registry, o: DnsSourceOptions, logger: DnsLog): DnsWatcher {
  return new DnsWatcher({
    target: o.target,
    intervalMs: o.intervalMs,
    lookup: o.lookup ?? resolverLookup(o.server, Math.min(o.intervalMs, DNS_QUERY_TIMEOUT_MS)),
    logger,
    onChange: (endpoints) => registry.setDnsNodes(originsOf(endpoints)),
  })
}
