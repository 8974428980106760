// `./run-cluster.sh chaos` on a real 3-node cluster started by run-cluster.sh
// (ports the system picks, a temporary run directory).
//
// Where the machine allows partitions (root, `ip netns`, `nsenter`, iptables
// with its cgroup match, a cgroup2 mount) the whole cluster runs in a network
// namespace of its own, so the checker's iptables chain lives in that
// namespace's firewall and not the host's, and the checker must partition
// the nodes, see each cut take effect and heal. Elsewhere it runs on the
// host's loopback with partitions turned off (TALLY_CHAOS_PARTITIONS=0, so
// nothing touches the host's firewall) and must say so. Either way the
// verdict must be PASS with exact bounds, and afterwards the checker must
// have left no chain and no cgroup behind. Needs the built bins.

import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'
import { CHOSEN_PORTS, killLeftovers, type Result, recordPids } from './support/processes.ts'

const BINS = ['discovery', 'node', 'gateway'].map((p) => join(ROOT, 'packages', p, 'dist', `tally-${p}.js`))
const NS = `tally-chaos-t${process.pid}`

/** The cgroup2 mount point, or undefined. */
function cgroup2Root(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ')
    if (right?.startsWith('cgroup2 ')) return left?.split(' ')[4]
  }
  return undefined
}

/** Null when partitions can run here, else why not. Creates the namespace when they can. */
function partitionsUnavailable(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root'
  if (!existsSync('/proc/self/mountinfo') || cgroup2Root() === undefined) return 'no cgroup2 mount'
  try {
    execFileSync('ip', ['netns', 'add', NS], { stdio: 'ignore' })
  } catch {
    return 'ip netns unavailable'
  }
  try {
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { stdio: 'ignore' })
    execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'iptables', '-w', '-S', 'OUTPUT'], { stdio: 'ignore' })
    execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'iptables', '-w', '-m', 'cgroup', '--help'], {
      stdio: 'ignore',
    })
    return null
  } catch {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' })
    return 'nsenter or iptables (with its cgroup match) unavailable'
  }
}

const unavailable = partitionsUnavailable()

describe(`run-cluster.sh chaos (${unavailable === null ? 'with partitions, in a network namespace' : `partitions off: ${unavailable}`})`, () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tally-chaos-'))
  const logs = join(runDir, 'logs')
  const pids = new Set<number>()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TALLY_RUN_DIR: runDir,
    ...CHOSEN_PORTS,
    TALLY_SKIP_BUILD: '1',
    TALLY_LOG_LEVEL: 'warn',
    ...(unavailable === null ? {} : { TALLY_CHAOS_PARTITIONS: '0' }),
  }
  let started = false

  /** run-cluster.sh ARGS, inside the namespace when there is one. */
  function cluster(args: string[], timeoutMs = 90_000): Promise<Result> {
    const script = join(ROOT, 'run-cluster.sh')
    const [cmd, argv] =
      unavailable === null
        ? ['nsenter', [`--net=/run/netns/${NS}`, 'bash', script, ...args]]
        : ['bash', [script, ...args]]
    return new Promise((resolve) => {
      execFile(cmd as string, argv as string[], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
        recordPids(logs, pids)
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      })
    })
  }

  beforeAll(async () => {
    const missing = BINS.filter((b) => !existsSync(b))
    if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run npm run build first`)
    started = true
    const r = await cluster(['start', '3'])
    if (r.code !== 0) throw new Error(`start failed: ${r.stdout}${r.stderr}`)
  }, 120_000)

  afterAll(async () => {
    if (started) await cluster(['stop'], 60_000)
    killLeftovers(pids, join(ROOT, 'packages'))
    if (unavailable === null) execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' })
    rmSync(runDir, { recursive: true, force: true })
  }, 90_000)

  it('drives keyed writes through faults and passes with exact bounds', async () => {
    const r = await cluster(['chaos', '24'], 240_000)
    const out = r.stdout
    const verdict = out.split('\n').find((l) => l.startsWith('chaos: PASS') || l.startsWith('chaos: FAIL'))
    expect(verdict, out + r.stderr).toMatch(/^chaos: PASS /)
    expect(r.code).toBe(0)
    expect(verdict).toMatch(/\(exact\)/)
    expect(verdict).toMatch(/kill node-\d \d+ ms → \d+ ms/)
    // Every node was still the same value at the end.
    const values = [...(verdict ?? '').matchAll(/node-\d=(-?\d+)/g)].map((m) => m[1])
    expect(values).toHaveLength(3)
    expect(new Set(values).size).toBe(1)
    if (unavailable === null) {
      expect(out).toMatch(/partitions: on \(iptables chain TALLY-CHAOS-[0-9a-f]+ on lo/)
      // At least one partition was cut, seen by both sides, and healed.
      expect(verdict).toMatch(/partition \{[^}]+\}\|\{[^}]+\} \d+ ms \(cut seen \d+ ms\) → \d+ ms/)
      expect(out).toMatch(/cut seen: each side shows the other not live/)
      // Nothing left behind: no chain in the namespace, no cgroup, nodes back in their cgroup.
      const rules = execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'iptables', '-w', '-S'], {
        encoding: 'utf8',
      })
      expect(rules).not.toMatch(/TALLY-CHAOS/)
      expect(readdirSync(cgroup2Root() as string).filter((d) => d.startsWith('tally-chaos-'))).toEqual([])
    } else {
      expect(out).toMatch(/partitions: off \(TALLY_CHAOS_PARTITIONS=0\)/)
      expect(verdict).not.toMatch(/partition \{/)
    }
    const status = await cluster(['status'], 30_000)
    expect(status.code, status.stdout).toBe(0)
  }, 260_000)
})
