// Types of netns-cluster.mjs (plain JavaScript so the heal bench can use it too).

/** The built tally-node bin. */
export const SERVER: string
/** Gossip and HTTP port of every node (each in its own namespace). */
export const GOSSIP_PORT: number
export const HTTP_PORT: number

/** Null when namespace clusters can run here (root, `ip netns`, iptables), else the reason. Synchronous. */
export function netnsUnavailable(): string | null

/** A cluster of tally-nodes, one per network namespace; see startNetnsCluster. */
export interface NetnsCluster {
  request(
    i: number,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    timeoutMs?: number,
  ): Promise<{ status: number; body: unknown }>
  cut(a: number[], b: number[]): void
  heal(): void
  stop(): Promise<void>
}

/** Starts `n` nodes in their own namespaces on a bridge; the caller must stop() it (also on rejection). */
export function startNetnsCluster(opts: {
  n: number
  args?: readonly string[]
  log?: string
}): Promise<NetnsCluster>

/** One HTTP request over a Unix socket. */
export function request(
  sock: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
  timeoutMs?: number,
): Promise<{ status: number; body: unknown }>
