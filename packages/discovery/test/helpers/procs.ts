import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'

/** A child process started by a test, with its recent output for failure messages. */
export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  output(): string
  exited: Promise<number | null>
}

/** Throws a clear message when a bin has not been built. */
export function requireBuilt(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build (or npx tsc -b) first`)
}

/** A currently free TCP port on 127.0.0.1 (bind 0, read, release). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** Starts `node <script> ...args`; output is kept (last 64 KiB) for diagnostics. */
export function startProc(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let out = ''
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-65536)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  if (child.pid === undefined) throw new Error(`cannot start ${name}`)
  return { name, child, pid: child.pid, output: () => out, exited }
}

/** Signals the recorded pid (if still running) and waits for exit, escalating to SIGKILL after `graceMs`. */
export async function stopProc(p: Proc, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  p.child.kill(signal)
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
  await p.exited
  clearTimeout(timer)
}

/** GET/POST JSON with a short timeout. */
export async function http<T = unknown>(
  url: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    ...(init.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(3000),
  })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T }
}
