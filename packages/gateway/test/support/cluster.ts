// Real tally-node processes for integration tests: free loopback ports,
// temporary data dirs, and kill/restart by the pid we recorded.

import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { until } from './fake-node.js'

/** The built node daemon. */
export const NODE_BIN = fileURLToPath(new URL('../../../node/dist/server.js', import.meta.url))
/** The built gateway. */
export const GATEWAY_BIN = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

/** True when the node daemon has been built (`npx tsc -b`). */
export const haveNodeBin = (): boolean => existsSync(NODE_BIN)

/** A port the OS says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** One tally-node child process. */
export class RealNode {
  readonly id: string
  readonly tcpPort: number
  readonly httpPort: number
  readonly dataDir: string
  peers: string[] = []
  proc: ChildProcess | undefined
  extra: string[] = []
  stderr = ''

  constructor(id: string, tcpPort: number, httpPort: number, dataDir: string) {
    this.id = id
    this.tcpPort = tcpPort
    this.httpPort = httpPort
    this.dataDir = dataDir
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`
  }

  /** Spawns the process and waits until its /health answers ok. */
  async start(): Promise<void> {
    const args = [
      NODE_BIN,
      ...['--id', this.id, '--host', '127.0.0.1', '--tcp-port', String(this.tcpPort)],
      ...['--http-port', String(this.httpPort), '--data-dir', this.dataDir, '--log-level', 'warn'],
      ...['--gossip-interval', '100', '--peers', this.peers.join(','), '--resp-port', '0'],
      ...this.extra,
    ]
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    this.proc = proc
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000)
    })
    await until(
      async () => {
        if (proc.exitCode !== null) throw new Error(`node ${this.id} exited ${proc.exitCode}: ${this.stderr}`)
        try {
          const r = await fetch(`${this.url}/health`)
          return r.status === 200
        } catch {
          return false
        }
      },
      30_000,
      `node ${this.id} to start`,
    )
  }

  /** SIGKILLs the process (by its recorded pid) and waits for it to exit. */
  async kill(): Promise<void> {
    const p = this.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGKILL')
    await exited
  }
}

/** Starts `n` nodes that know each other as gossip seeds; `extra` flags are added to each. */
export async function startCluster(
  n: number,
  extra: string[] = [],
): Promise<{ nodes: RealNode[]; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-gw-it-'))
  const nodes: RealNode[] = []
  for (let i = 1; i <= n; i++) {
    nodes.push(new RealNode(`n${i}`, await freePort(), await freePort(), join(dir, `n${i}`)))
  }
  for (const node of nodes) {
    node.peers = nodes.filter((o) => o !== node).map((o) => `127.0.0.1:${o.tcpPort}`)
    node.extra = ['--cluster-size', String(n), ...extra]
  }
  const stop = async () => {
    await Promise.all(nodes.map((x) => x.kill()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await Promise.all(nodes.map((x) => x.start()))
  } catch (err) {
    await stop()
    throw err
  }
  return { nodes, stop }
}
