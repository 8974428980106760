// Pure: DNS records → the sorted `host:port` list a discovery source feeds
// into membership, and the difference between two such lists. Garbage
// entries (bad addresses, port 0, names that are not names) are dropped;
// an answer with nothing usable left is `undefined`: "change nothing".

import { isIP } from 'node:net'
import { type DnsTarget, isDnsName } from './dns-target.js'

/** An SRV record as `node:dns` returns it (fields untrusted). */
export interface SrvRecord {
  readonly name: unknown
  readonly port: unknown
  readonly priority?: unknown
  readonly weight?: unknown
}

/** What one resolution returned: addresses for an `a` target, records for an `srv` target. */
export type DnsAnswer = { readonly addresses: readonly unknown[] } | { readonly srv: readonly unknown[] }

/** `host:port`, IPv6 in brackets. Pure. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535
}

/**
 * The `host:port` endpoints of `answer` for `target`, sorted and unique.
 * `a`: every IP literal with the target's port. `srv`: every record whose
 * target is a DNS name or IP literal and whose port is 1..65535 (a trailing
 * dot is dropped; priority and weight are ignored: every endpoint is a peer).
 * Undefined when nothing usable is left (an empty or garbage answer). Pure,
 * never throws.
 */
export function endpointsOf(target: DnsTarget, answer: DnsAnswer): string[] | undefined {
  const out = new Set<string>()
  if (target.kind === 'a' && 'addresses' in answer) {
    for (const a of answer.addresses) {
      if (typeof a === 'string' && isIP(a) !== 0) out.add(joinHostPort(a, target.port))
    }
  } else if (target.kind === 'srv' && 'srv' in answer) {
    for (const r of answer.srv) {
      if (typeof r !== 'object' || r === null) continue
      const { name, port } = r as SrvRecord
      if (typeof name !== 'string' || !validPort(port)) continue
      const host = name.endsWith('.') ? name.slice(0, -1) : name
      if (isIP(host) !== 0 || isDnsName(host)) out.add(joinHostPort(host.toLowerCase(), port))
    }
  }
  if (out.size === 0) return undefined
  return [...out].sort()
}

/** What changed between two endpoint lists. */
export interface EndpointDiff {
  readonly added: string[]
  readonly removed: string[]
}

/** Endpoints in `next` but not `prev` (added) and in `prev` but not `next` (removed), each sorted. Pure. */
export function diffEndpoints(prev: readonly string[], next: readonly string[]): EndpointDiff {
  const p = new Set(prev)
  const n = new Set(next)
  return {
    added: [...n].filter((e) => !p.has(e)).sort(),
    removed: [...p].filter((e) => !n.has(e)).sort(),
  }
}
