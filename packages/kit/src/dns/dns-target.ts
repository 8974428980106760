// The value of `--discovery dns:NAME:PORT` / `--discovery dns+srv:_svc._proto.NAME`
// and of `--dns-server HOST[:PORT]`: pure parsers shared by tally-node and
// tally-gateway, so both read the same syntax and refuse the same mistakes.

import { isIP } from 'node:net'

/** Stable code of {@link DnsSettingError}. */
export const DNS_SETTING_INVALID = 'TALLY_DNS_SETTING_INVALID'

/** A DNS discovery setting that cannot be used; the message says why. */
export class DnsSettingError extends Error {
  readonly code = DNS_SETTING_INVALID
  constructor(message: string) {
    super(message)
    this.name = 'DnsSettingError'
  }
}

/**
 * What to resolve. `a`: the A and AAAA records of `name`, each address with
 * `port`. `srv`: the SRV records of `name` (`_service._proto.domain`), each
 * target host with the record's own port.
 */
export type DnsTarget =
  | { readonly kind: 'a'; readonly name: string; readonly port: number }
  | { readonly kind: 'srv'; readonly name: string }

/** True when `raw` asks for DNS discovery (`dns:` or `dns+srv:`), valid or not. Pure. */
export function isDnsDiscovery(raw: string): boolean {
  return raw.startsWith('dns:') || raw.startsWith('dns+srv:')
}

const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/

/** True when `name` is a DNS name: dot-separated labels of A-Z a-z 0-9 _ -, 1..253 chars, optional final dot. */
export function isDnsName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name
  if (n.length === 0 || n.length > 253) return false
  return n.split('.').every((l) => LABEL.test(l))
}

function port(raw: string, what: string): number {
  if (!/^\d{1,5}$/.test(raw))
    throw new DnsSettingError(`${what}: expected a port 1-65535, got ${JSON.stringify(raw)}`)
  const p = Number(raw)
  if (p < 1 || p > 65535) throw new DnsSettingError(`${what}: expected a port 1-65535, got ${p}`)
  return p
}

/**
 * Parses `dns:NAME:PORT` or `dns+srv:_service._proto.NAME`. Pure; throws
 * {@link DnsSettingError} on anything else (no port, port out of range, a
 * name that is not a DNS name, an SRV name without `_service._proto.`).
 */
export function parseDnsTarget(raw: string): DnsTarget {
  if (raw.startsWith('dns+srv:')) {
    const name = raw.slice('dns+srv:'.length)
    const labels = name.split('.')
    if (!isDnsName(name) || labels.length < 3 || !labels[0]?.startsWith('_') || !labels[1]?.startsWith('_')) {
      throw new DnsSettingError(
        `expected dns+srv:_service._proto.name (e.g. dns+srv:_gossip._tcp.tally-nodes.default.svc.cluster.local), got ${JSON.stringify(raw)}`,
      )
    }
    return { kind: 'srv', name }
  }
  if (raw.startsWith('dns:')) {
    const rest = raw.slice('dns:'.length)
    const colon = rest.lastIndexOf(':')
    const name = colon === -1 ? rest : rest.slice(0, colon)
    if (colon === -1 || !isDnsName(name)) {
      throw new DnsSettingError(
        `expected dns:name:port (e.g. dns:tally-nodes:9000), got ${JSON.stringify(raw)}`,
      )
    }
    return { kind: 'a', name, port: port(rest.slice(colon + 1), JSON.stringify(raw)) }
  }
  throw new DnsSettingError(
    `expected dns:name:port or dns+srv:_service._proto.name, got ${JSON.stringify(raw)}`,
  )
}

/** Default DNS port when `--dns-server` gives none. */
export const DNS_PORT = 53

/**
 * Parses `--dns-server HOST[:PORT]` (HOST an IPv4 literal, or `[IPv6]`) into
 * the form `Resolver.setServers` takes (`1.2.3.4:53`, `[::1]:53`). Pure;
 * throws {@link DnsSettingError} (a resolver takes addresses, not names).
 */
export function parseDnsServer(raw: string): string {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(raw)
  if (v6 !== null) {
    const host = v6[1] as string
    if (isIP(host) !== 6)
      throw new DnsSettingError(`expected an IPv6 address in [..], got ${JSON.stringify(raw)}`)
    return `[${host}]:${v6[2] === undefined ? DNS_PORT : port(v6[2], 'dns server')}`
  }
  const colon = raw.lastIndexOf(':')
  const host = colon === -1 ? raw : raw.slice(0, colon)
  if (isIP(host) !== 4) {
    throw new DnsSettingError(
      `expected an IP address HOST[:PORT] (IPv6 as [addr]:port), got ${JSON.stringify(raw)}`,
    )
  }
  return `${host}:${colon === -1 ? DNS_PORT : port(raw.slice(colon + 1), 'dns server')}`
}

/** Default period between two resolutions of a DNS target, ms. */
export const DEFAULT_DNS_INTERVAL_MS = 5000
