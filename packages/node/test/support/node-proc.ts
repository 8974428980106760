// Real tally-node processes for the durability tests: restart on the same
// data dir, kill by recorded pid, poll for health and convergence.
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { spawnOnLoopback } from './procs.js'

export { requireBuild, SERVER } from './procs.js'

/** One running tally-node. */
export interface NodeProc {
  id: string
  dataDir: string
  tcp: number
  url: string
  child: ChildProcess
  stderr: string[]
}

/**
 * Starts tally-node `id` on `dataDir` with OS-chosen ports; resolves once it
 * listens (or has exited: a refused start). The caller stops it (see {@link stop}, {@link killHard}).
 */
export async function startNode(id: string, dataDir: string, extra: string[] = []): Promise<NodeProc> {
  const p = await spawnOnLoopback(id, dataDir, extra)
  return { id, dataDir, tcp: p.tcp, url: p.url, child: p.child, stderr: p.stderr }
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
