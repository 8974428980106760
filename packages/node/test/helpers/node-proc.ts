// Real tally-node processes for the durability tests: spawn on loopback with
// OS-chosen free ports, restart on the same data dir, kill by recorded pid.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

/** The built bin; tests fail with "run npm run build" when it is missing. */
export const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

/** Throws a clear error when the bin has not been built. */
export function requireBuild(): void {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build`)
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const { port } = s.address() as net.AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** One running tally-node. */
export interface NodeProc {
  id: string
  dataDir: string
  tcp: number
  url: string
  child: ChildProcess
  stderr: string[]
}

/** Starts tally-node `id` on `dataDir`; the caller stops it (see {@link stop}, {@link killHard}). */
export async function startNode(id: string, dataDir: string, extra: string[] = []): Promise<NodeProc> {
  const tcp = await freePort()
  const http = await freePort()
  const args = [
    SERVER,
    '--id',
    id,
    '--host',
    '127.0.0.1',
    '--tcp-port',
    String(tcp),
    '--http-port',
    String(http),
  ]
  args.push('--data-dir', dataDir, '--log-level', 'warn', ...extra)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 200) stderr.push(d.toString())
  })
  return { id, dataDir, tcp, url: `http://127.0.0.1:${http}`, child, stderr }
}

/** True while the process has neither exited nor been killed. */
export function alive(p: NodeProc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null
}

/** SIGKILL by pid and wait for the exit. */
export async function killHard(p: NodeProc): Promise<void> {
  if (!alive(p)) return
  const exited = once(p.child, 'exit')
  p.child.kill('SIGKILL')
  await exited
}

/** SIGTERM (SIGKILL after `graceMs`) and wait; resolves with the exit code (null if killed). */
export async function stop(p: NodeProc, graceMs = 10_000): Promise<number | null> {
  if (!alive(p)) return p.child.exitCode
  const exited = once(p.child, 'exit') as Promise<[number | null]>
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
  p.child.kill('SIGTERM')
  const [code] = await exited
  clearTimeout(t)
  return code
}

/** JSON request with a timeout; resolves with status and parsed body. Rejects on network errors. */
export async function request(
  url: string,
  method = 'GET',
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method,
    signal: AbortSignal.timeout(10_000),
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed }
}

/** Polls GET /health until 200; throws with the node's stderr if it exits or `timeoutMs` passes. */
export async function waitHealthy(p: NodeProc, timeoutMs = 30_000): Promise<{ replica: string }> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      const r = await request(`${p.url}/health`)
      if (r.status === 200) return r.body as { replica: string }
    } catch {}
    if (!alive(p)) throw new Error(`${p.id} exited (${p.child.exitCode}): ${p.stderr.join('')}`)
    if (Date.now() > end) throw new Error(`${p.id} not healthy after ${timeoutMs} ms: ${p.stderr.join('')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Polls `check` every 100 ms until true; throws naming `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
