/**
 * What discovery servers send and how the node reads it: untrusted input,
 * validated and bounded here, pure except for `readLimited` (reads a body).
 */

/** A peer as the discovery service reports it (self excluded). */
export interface DiscoveredPeer {
  readonly id: string
  /** Gossip address `host:port`. */
  readonly addr: string
  /** HTTP base URL, when the peer registered one. */
  readonly http?: string
}

/** How this node registers itself. */
export interface SelfRegistration {
  readonly id: string
  /** Gossip address other nodes dial, `host:port` (the advertise host, never 0.0.0.0). */
  readonly addr: string
  /** HTTP base URL, e.g. `http://127.0.0.1:8010`. */
  readonly http: string
}

/** Largest discovery response read, bytes; anything larger is a failed request. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024
/** Most peers taken from one response. */
export const MAX_PEERS = 10_000

export const PEER_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/
export const PEER_ADDR_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):[0-9]{1,5}$/

/**
 * Pure: the validated peers in an untrusted discovery response (`GET /peers`
 * array or `POST /register` `{ peers }`), self excluded, malformed entries
 * dropped, at most `MAX_PEERS`. Never throws.
 */
export function readPeerList(body: unknown, selfId: string): DiscoveredPeer[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { peers?: unknown }).peers)
      ? (body as { peers: unknown[] }).peers
      : []
  const out: DiscoveredPeer[] = []
  for (const p of list.slice(0, MAX_PEERS)) {
    if (typeof p !== 'object' || p === null) continue
    const { id, addr, http } = p as Record<string, unknown>
    if (typeof id !== 'string' || !PEER_ID_RE.test(id) || id === '__proto__' || id === selfId) continue
    if (typeof addr !== 'string' || !PEER_ADDR_RE.test(addr)) continue
    const port = Number(addr.slice(addr.lastIndexOf(':') + 1))
    if (port < 1 || port > 65535) continue
    const goodHttp = typeof http === 'string' && http.length <= 2048 && /^https?:\/\/[^\s]+$/.test(http)
    out.push(goodHttp ? { id, addr, http } : { id, addr })
  }
  return out
}

/**
 * Pure: the union of several servers' lists, first list wins on a duplicate
 * id, sorted by id.
 */
export function mergePeerLists(lists: ReadonlyArray<readonly DiscoveredPeer[]>): DiscoveredPeer[] {
  const byId = new Map<string, DiscoveredPeer>()
  for (const list of lists) for (const p of list) if (!byId.has(p.id)) byId.set(p.id, p)
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** Pure: the registry's membership `version` in a reply body (string or parsed), if any. */
export function versionOf(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return versionOf(JSON.parse(body))
    } catch {
      return undefined
    }
  }
  const v = typeof body === 'object' && body !== null ? (body as { version?: unknown }).version : undefined
  return typeof v === 'string' && v.length <= 64 ? v : undefined
}

/** Pure: `: CODE message` from a `{ error: { code, message } }` body, bounded; '' otherwise. */
export function errorDetail(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error
    return `: ${String(e?.code ?? '')} ${String(e?.message ?? '')}`.slice(0, 300)
  } catch {
    return ''
  }
}

/** Reads a response body as UTF-8, failing (and cancelling) past `max` bytes. */
export async function readLimited(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > max) {
    await res.body?.cancel()
    throw new Error(`response larger than ${max} bytes`)
  }
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      throw new Error(`response larger than ${max} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
