// Spawning real tally-node processes on loopback for integration tests and benches.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Path of the built bin; tests check it exists and fail with "run npm run build" otherwise. */
export const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

/** Throws a clear error when the bin has not been built. */
export function requireBuild(): void {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build`)
}

export interface Proc {
  id: string
  tcp: number
  http: number
  /** RESP port from the `listening` line; 0 when RESP is off. */
  resp: number
  url: string
  child: ChildProcess
  stderr: string[]
}

/** Temp directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-node-test-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Starts one tally-node on loopback with its data in `join(dataRoot, id)`.
 * See {@link spawnOnLoopback}; the caller must stop it (see stopAll).
 */
export function spawnNode(id: string, dataRoot: string, extra: string[] = []): Promise<Proc> {
  return spawnOnLoopback(id, join(dataRoot, id), extra)
}

/**
 * Starts one tally-node on loopback with its data in `dataDir`. Ports are 0
 * (chosen by the OS, no race with other processes); the bound ports are read
 * from the node's `listening` log line. Resolves once it listens, or when it
 * exits first (a refused start: check `child.exitCode` and `stderr`).
 */
export async function spawnOnLoopback(id: string, dataDir: string, extra: string[] = []): Promise<Proc> {
  const child = spawn(
    process.execPath,
    [
      SERVER,
      '--id',
      id,
      '--host',
      '127.0.0.1',
      '--tcp-port',
      '0',
      '--http-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      // RESP is off unless a test asks for it (its default port 6380 is a shared, fixed port).
      ...(extra.includes('--resp-port') ? [] : ['--resp-port', '0']),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 100) stderr.push(d.toString())
  })
  const proc: Proc = { id, tcp: 0, http: 0, resp: 0, url: '', child, stderr }
  await new Promise<void>((resolve) => {
    let buf = ''
    const onExit = () => resolve()
    child.once('close', onExit)
    // Keep draining stdout for the life of the process so the child never blocks on a full pipe.
    child.stdout?.on('data', (d: Buffer) => {
      if (proc.url !== '') return
      buf += d.toString()
      let nl = buf.indexOf('\n')
      while (nl !== -1) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        try {
          const rec = JSON.parse(line) as { msg?: string; http?: string; gossip?: string; resp?: string }
          if (rec.msg === 'listening' && rec.http && rec.gossip) {
            proc.url = rec.http
            if (rec.resp) proc.resp = Number(rec.resp.slice(rec.resp.lastIndexOf(':') + 1))
            proc.http = Number(new URL(rec.http).port)
            proc.tcp = Number(rec.gossip.slice(rec.gossip.lastIndexOf(':') + 1))
            child.off('close', onExit)
            resolve()
            return
          }
        } catch {}
      }
    })
  })
  return proc
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
