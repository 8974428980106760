import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Cleanup } from './cleanup.js'

/** A child process started by a test. */
export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  /** The pid it was started with; every signal goes to this pid only. */
  readonly pid: number
  /** Its recent stdout and stderr (last 64 KiB), for failure messages. */
  output(): string
  /** Resolves with the exit code (null when killed by a signal) once it has exited. */
  readonly exited: Promise<number | null>
  /** True while it has neither exited nor been killed. */
  alive(): boolean
  /** Every complete stdout line seen so far is passed to `fn`, and every later one. */
  onLine(fn: (line: string) => void): void
}

/** Options of {@link spawnProc}. */
export interface SpawnOptions {
  /** Extra environment over `process.env`. */
  readonly env?: Readonly<Record<string, string>>
}

/** Throws a clear message when a built file (a bin) is missing. */
export function requireBuilt(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first`)
}

/**
 * Starts `node <script> ...args` and registers its stop (SIGTERM, then SIGKILL
 * after 5 s, by its pid) with `cleanup`, so it is stopped even when the test
 * fails. Does not wait for anything; see {@link waitForLine}.
 */
export function spawnProc(
  cleanup: Cleanup,
  name: string,
  script: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  if (child.pid === undefined) throw new Error(`cannot start ${name}`)
  let out = ''
  const lines: string[] = []
  const listeners: Array<(line: string) => void> = []
  let partial = ''
  child.stdout?.on('data', (b: Buffer) => {
    const s = b.toString()
    out = (out + s).slice(-65536)
    partial += s
    for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      if (lines.length < 1000) lines.push(line)
      for (const fn of listeners) fn(line)
    }
  })
  child.stderr?.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-65536)
  })
  // 'close' comes after 'exit' and after stdout/stderr are drained: output() is complete by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    output: () => out,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    onLine(fn) {
      for (const line of lines) fn(line)
      listeners.push(fn)
    },
  }
  cleanup.add(() => stopProc(proc))
  return proc
}

/**
 * Signals the process by its pid (if still running) and waits for it to
 * exit, escalating to SIGKILL after `graceMs`. Resolves with the exit code.
 */
export async function stopProc(
  p: Proc,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<number | null> {
  if (!p.alive()) return p.child.exitCode
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
  p.child.kill(signal)
  const code = await p.exited
  clearTimeout(timer)
  return code
}

/** SIGKILL by pid and wait for the exit. */
export function killProc(p: Proc): Promise<number | null> {
  return stopProc(p, 'SIGKILL')
}

/**
 * Resolves with the first value `match` returns for a stdout line parsed as
 * JSON (a pino log record); lines that are not JSON are skipped. Rejects,
 * quoting the process's output, when it exits first or `timeoutMs` passes.
 * This is how a test learns the ports a process bound when started on port 0.
 */
export function waitForLine<T>(
  p: Proc,
  match: (record: Record<string, unknown>) => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      fn()
    }
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new Error(`${p.name}: no matching log line after ${timeoutMs} ms: ${p.output()}`)),
        ),
      timeoutMs,
    )
    p.exited.then((code) =>
      finish(() =>
        reject(new Error(`${p.name} exited (${code}) before the awaited log line: ${p.output()}`)),
      ),
    )
    p.onLine((line) => {
      if (done) return
      let rec: unknown
      try {
        rec = JSON.parse(line)
      } catch {
        return
      }
      if (typeof rec !== 'object' || rec === null) return
      const v = match(rec as Record<string, unknown>)
      if (v !== undefined) finish(() => resolve(v))
    })
  })
}

/** Port of an `http://host:port` (or `host:port`) address. */
export function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1).replace(/\/.*$/, ''))
  if (!Number.isInteger(port) || port <= 0) throw new RangeError(`no port in ${JSON.stringify(address)}`)
  return port
}
