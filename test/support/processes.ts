// Process and port helpers shared by the tests that run the scripts against
// real (or stand-in) processes: the ports they chose, liveness of a pid, and
// the pids to kill whatever happens.

import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
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

/** Every port setting of run-cluster.sh chosen at start (0; `any` for RESP, where 0 is off): each component binds a port the system picks. */
export const CHOSEN_PORTS = {
  TALLY_DISCOVERY_PORT: '0',
  TALLY_GATEWAY_PORT: '0',
  TALLY_GATEWAY_RESP_PORT: 'any',
  TALLY_GOSSIP_BASE_PORT: '0',
  TALLY_HTTP_BASE_PORT: '0',
  TALLY_RESP_BASE_PORT: 'any',
} as const

/** The ports a component bound, as run-cluster.sh recorded them. */
export interface Ports {
  http: number
  gossip: number
  resp: number
}

/**
 * The ports component `name` (discovery, gateway, node-k) recorded in
 * `logDir/NAME.ports` when it started with chosen ports. Throws when none are
 * recorded.
 */
export function recordedPorts(logDir: string, name: string): Ports {
  const [http = 0, gossip = 0, resp = 0] = readFileSync(join(logDir, `${name}.ports`), 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number)
  if (![http, gossip, resp].every(Number.isInteger) || http === 0) {
    throw new Error(`${name}.ports in ${logDir} records no HTTP port`)
  }
  return { http, gossip, resp }
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
