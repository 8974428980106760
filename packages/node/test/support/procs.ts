// Spawning real tally-node processes on loopback for integration tests and benches.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Path of the built bin; tests check it exists and fail with "run npm run build" otherwise. */
export const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

/** Throws a clear error when the bin has not been built. */
export function requireBuild(): void {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build`)
}

/** A free TCP port on 127.0.0.1 (asks the OS, then releases it). */
export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface Proc {
  id: string
  tcp: number
  http: number
  url: string
  child: ChildProcess
  stderr: string[]
}

/** Temp directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-node-test-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Starts one tally-node on loopback with free ports. The caller must kill it (see stopAll). */
export async function spawnNode(id: string, dataRoot: string, extra: string[] = []): Promise<Proc> {
  const tcp = await freePort()
  const http = await freePort()
  const child = spawn(
    process.execPath,
    [
      SERVER,
      '--id',
      id,
      '--host',
      '127.0.0.1',
      '--tcp-port',
      String(tcp),
      '--http-port',
      String(http),
      '--data-dir',
      join(dataRoot, id),
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 100) stderr.push(d.toString())
  })
  return { id, tcp, http, url: `http://127.0.0.1:${http}`, child, stderr }
}

/** GET/POST JSON helper with a timeout; resolves with status and parsed body (or null). */
export async function http(
  url: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method,
    signal: AbortSignal.timeout(5000),
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed }
}

/** Polls until GET url/health answers 200, or throws after `timeoutMs`. */
export async function waitHealthy(p: Proc, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      if ((await http(`${p.url}/health`)).status === 200) return
    } catch {}
    if (p.child.exitCode !== null) throw new Error(`${p.id} exited ${p.child.exitCode}: ${p.stderr.join('')}`)
    if (Date.now() > end) throw new Error(`${p.id} not healthy in ${timeoutMs} ms: ${p.stderr.join('')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** SIGTERM each process by pid, SIGKILL any still alive after `graceMs`; resolves when all exited. */
export async function stopAll(procs: Proc[], graceMs = 5000): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
          const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
          p.child.once('exit', () => {
            clearTimeout(t)
            resolve()
          })
          p.child.kill('SIGTERM')
        }),
    ),
  )
}
