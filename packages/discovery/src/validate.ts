import { isIP, isIPv4, isIPv6 } from 'node:net'

/** Node ids: 1–128 characters of `A-Z a-z 0-9 . _ : -` (the node id rules), except `__proto__`. */
export const NODE_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$'
const NODE_ID_RE = new RegExp(NODE_ID_PATTERN)

/** Longest accepted `addr` (`host:port`). A DNS name is at most 253 characters. */
export const MAX_ADDR_LENGTH = 300
/** Longest accepted `http` URL. */
export const MAX_URL_LENGTH = 2048

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** True when `id` follows the node id rules. Never throws. */
export function isValidNodeId(id: unknown): id is string {
  return typeof id === 'string' && NODE_ID_RE.test(id) && id !== '__proto__'
}

/** True for a DNS host name (RFC 1123 labels, ≤ 253 characters) or an IPv4 address. Never throws. */
export function isValidHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false
  const labels = host.split('.')
  // All-numeric dotted names are IPv4 or nonsense (999.1.1.1), never DNS names.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return isIPv4(host)
  return labels.every((l) => LABEL.test(l))
}

/**
 * Parses a gossip address `host:port`: host is a DNS name, an IPv4 address,
 * or a bracketed IPv6 address (`[::1]:9000`); port is 1–65535 in plain
 * decimal. Unspecified addresses (0.0.0.0, [::]) are refused: nobody can
 * connect to them. Returns a reason string instead of throwing.
 */
export function parseHostPort(addr: unknown): { host: string; port: number } | string {
  if (typeof addr !== 'string') return 'must be a string "host:port"'
  if (addr.length > MAX_ADDR_LENGTH) return `must be at most ${MAX_ADDR_LENGTH} characters`
  let host: string
  let portText: string
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']')
    if (close < 0 || addr[close + 1] !== ':') return 'must be "[ipv6]:port" when bracketed'
    host = addr.slice(1, close)
    portText = addr.slice(close + 2)
    if (!isIPv6(host)) return 'has an invalid IPv6 address inside the brackets'
  } else {
    const colon = addr.lastIndexOf(':')
    if (colon < 0) return 'must be "host:port"'
    host = addr.slice(0, colon)
    portText = addr.slice(colon + 1)
    if (host.includes(':')) return 'must bracket IPv6 hosts: "[::1]:9000"'
    if (!isValidHostName(host)) return `has an invalid host "${host.slice(0, 64)}"`
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return 'must end with a decimal port 1-65535'
  const port = Number(portText)
  if (port < 1 || port > 65535) return 'must end with a decimal port 1-65535'
  if (isIP(host) && isUnspecified(host)) return 'must not use the unspecified address (0.0.0.0 or ::)'
  return { host, port }
}

/**
 * Checks an HTTP base URL: `http:` or `https:`, a valid host, no
 * credentials, query or fragment. Returns undefined when valid, else a reason.
 */
export function checkHttpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string URL'
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute http(s) URL such as http://127.0.0.1:8010'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http: or https:'
  if (url.username !== '' || url.password !== '') return 'must not carry credentials'
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment'
  if (url.hostname === '') return 'must name a host'
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  if (isIP(bare) && isUnspecified(bare)) return 'must not use the unspecified address (0.0.0.0 or ::)'
  return undefined
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || /^[0:]+$/.test(ip)
}
