// `--discovery dns:NAME:PORT` / `dns+srv:…`: the peers are whatever a DNS
// name lists (on Kubernetes, a headless Service over the StatefulSet). The
// addresses carry no node id, so they enter membership as seeds, exactly like
// --peers: probed until a node answers from that address and introduces
// itself. An address the name stops listing is forgotten.

import {
  type DnsLog,
  type DnsLookup,
  type DnsPoll,
  type DnsTarget,
  DnsWatcher,
  type EndpointDiff,
  resolverLookup,
} from '@tally/kit'
import type { PeerSource } from './peer-source.js'

/** Longest a single DNS query may take before it counts as failed, ms. */
export const DNS_QUERY_TIMEOUT_MS = 2000

/** Options of {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  readonly target: DnsTarget
  /** Period between two resolutions, ms (> 0). */
  readonly intervalMs: number
  /** Resolver (`IP:PORT`, as `Resolver.setServers` takes it); undefined = the system's. */
  readonly server?: string | undefined
  readonly logger: DnsLog
  /** New gossip addresses (`host:port`): seed them (membership.seed). */
  readonly seed: (addrs: string[]) => void
  /** Gossip addresses the name no longer lists: forget them (membership.forget). */
  readonly forget: (addrs: string[]) => void
  /** Replaces the real resolver (tests). */
  readonly lookup?: DnsLookup
}

/**
 * Pure: what to do with membership for one change of the DNS answer.
 * `self` (our own gossip address, which the answer usually includes) is
 * neither seeded nor forgotten.
 */
export function membershipChanges(diff: EndpointDiff, self: string): { seed: string[]; forget: string[] } {
  return {
    seed: diff.added.filter((a) => a !== self),
    forget: diff.removed.filter((a) => a !== self),
  }
}

/**
 * A {@link PeerSource} following a DNS name. `start()` returns at once (the
 * first resolution runs in the background, so start-up never waits on DNS);
 * failures keep the last answer and are retried with back-off (see
 * `DnsWatcher`). Never throws after construction.
 */
export class DnsDiscovery implements PeerSource {
  readonly #watcher: DnsWatcher

  /** Throws RangeError on a non-positive interval; no I/O until `start()`. */
  constructor(o: DnsDiscoveryOptions, self: { addr: string }) {
    const timeout = Math.min(o.intervalMs, DNS_QUERY_TIMEOUT_MS)
    this.#watcher = new DnsWatcher({
      target: o.target,
      intervalMs: o.intervalMs,
      lookup: o.lookup ?? resolverLookup(o.server, timeout),
      logger: o.logger,
      onChange: (_all, diff) => {
        const { seed, forget } = membershipChanges(diff, self.addr)
        if (forget.length > 0) o.forget(forget)
        if (seed.length > 0) o.seed(seed)
      },
    })
  }

  /** Gossip addresses of the last good answer. */
  get endpoints(): readonly string[] {
    return this.#watcher.endpoints
  }

  /** Resolves now and applies the change (what the background loop does each interval; exposed for tests). Never rejects. */
  poll(): Promise<DnsPoll> {
    return this.#watcher.poll()
  }

  start(): void {
    this.#watcher.start()
  }

  async stop(): Promise<void> {
    this.#watcher.stop()
  }
}
