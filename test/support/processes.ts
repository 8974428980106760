// Process and port helpers shared by the tests that run the scripts against
// real (or stand-in) processes: free loopback ports, liveness of a pid, and
// waiting on a condition with a deadline.

import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** Outcome of one script run. */
export interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `bash script args` with `env`; never rejects (a timeout gives code -1). */
export function runScript(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile('bash', [script, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/** True when something on 127.0.0.1 can bind `port` right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/**
 * A block of `size` consecutive free loopback ports, below Linux's ephemeral
 * range (32768+) so that tests binding port 0 cannot take one meanwhile, and
 * away from the documented 8000-9xxx map.
 */
export async function freeBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000)
    let ok = true
    for (let p = base; p < base + size && ok; p++) ok = await portFree(p)
    if (ok) return base
  }
  throw new Error('no block of free ports found')
}

/** Alive and not a zombie (a reaped-late zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    if (existsSync('/proc/self')) return false
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}

/** The command line of `pid` ('' when unknown). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/** Adds the pid in every `*.pid` file of `logDir` to `into` (so a test can kill them whatever happens). */
export function recordPids(logDir: string, into: Set<number>): void {
  if (!existsSync(logDir)) return
  for (const f of readdirSync(logDir)) {
    if (!f.endsWith('.pid')) continue
    const pid = Number(readFileSync(join(logDir, f), 'utf8').trim())
    if (Number.isSafeInteger(pid) && pid > 1) into.add(pid)
  }
}

/** SIGKILLs each pid of `pids` that is still alive and runs a file under `root`. */
export function killLeftovers(pids: Iterable<number>, root: string): void {
  for (const pid of pids) {
    if (alive(pid) && cmdline(pid).includes(root)) process.kill(pid, 'SIGKILL')
  }
}
