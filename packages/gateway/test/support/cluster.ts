// Real tally-node processes for integration tests: OS-chosen loopback ports,
// temporary data dirs, and kill/restart by the pid we recorded.

import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Cleanup,
  http,
  killProc,
  NODE_BIN,
  startTallyNode,
  type TallyNodeProc,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'

export { NODE_BIN }
/** The built gateway. */
export const GATEWAY_BIN = fileURLToPath(new URL('../../dist/tally-gateway.js', import.meta.url))

/** One tally-node child process. */
export class RealNode {
  readonly id: string
  readonly dataDir: string
  /** Bound ports: chosen by the OS at the first start, kept for restarts (the gateway knows the URL). */
  tcpPort = 0
  httpPort = 0
  peers: string[] = []
  extra: string[] = []
  proc: TallyNodeProc | undefined
  readonly #cleanup: Cleanup

  constructor(id: string, dataDir: string, cleanup: Cleanup) {
    this.id = id
    this.dataDir = dataDir
    this.#cleanup = cleanup
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`
  }

  /** Spawns the process (on its previous ports, if it ran before) and waits until its /health answers ok. */
  async start(): Promise<void> {
    const p = await startTallyNode(
      this.#cleanup,
      this.id,
      this.dataDir,
      [
        ...['--gossip-interval', '100'],
        ...(this.peers.length > 0 ? ['--peers', this.peers.join(',')] : []),
        ...this.extra,
      ],
      { tcp: this.tcpPort, http: this.httpPort },
    )
    this.proc = p
    if (!p.alive()) throw new Error(`node ${this.id} exited ${p.child.exitCode}: ${p.output()}`)
    this.tcpPort = p.tcp
    this.httpPort = p.http
    await waitHealthy(p)
  }

  /** SIGKILLs the process (by its recorded pid) and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.proc) await killProc(this.proc)
  }
}

/**
 * Starts `n` nodes on OS-chosen ports, each seeded with the gossip addresses
 * of those started before it (then of all the others, for restarts); resolves
 * once every node sees the `n - 1` others live. `extra` flags are added to each.
 */
export async function startCluster(
  n: number,
  extra: string[] = [],
): Promise<{ nodes: RealNode[]; stop: () => Promise<void> }> {
  const cleanup = new Cleanup()
  const stop = () => cleanup.run()
  try {
    const dir = await tempDir(cleanup, 'tally-gw-it-')
    const nodes: RealNode[] = []
    for (let i = 1; i <= n; i++) {
      const node = new RealNode(`n${i}`, join(dir, `n${i}`), cleanup)
      node.peers = nodes.map((o) => `127.0.0.1:${o.tcpPort}`)
      node.extra = ['--cluster-size', String(n), ...extra]
      await node.start()
      nodes.push(node)
    }
    for (const node of nodes)
      node.peers = nodes.filter((o) => o !== node).map((o) => `127.0.0.1:${o.tcpPort}`)
    await until(
      async () => {
        const h = await Promise.all(nodes.map((x) => http<{ peers: { live: number } }>(`${x.url}/health`)))
        return h.every((r) => r.body.peers.live === n - 1)
      },
      { what: `every node to see ${n - 1} live peers`, timeoutMs: 30_000 },
    )
    return { nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
