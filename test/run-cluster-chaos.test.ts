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
// have left no chain and none of its own cgroups behind (only its own: the
// cgroup root is machine-wide, shared with concurrent runs). Needs the built bins.

import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from '@tally/kit/testing'
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

  /** The command line of run-cluster.sh ARGS, inside the namespace when there is one. */
  function clusterArgv(args: string[]): [string, string[]] {
    const script = join(ROOT, 'run-cluster.sh')
    return unavailable === null
      ? ['nsenter', [`--net=/run/netns/${NS}`, 'bash', script, ...args]]
      : ['bash', [script, ...args]]
  }

  /** Node pids as run-cluster.sh records them now. */
  function nodePids(): number[] {
    return readdirSync(logs)
      .filter((n) => /^node-\d+\.pid$/.test(n))
      .map((f) => Number(readFileSync(join(logs, f), 'utf8').trim()))
  }

  /** run-cluster.sh ARGS, inside the namespace when there is one. */
  function cluster(args: string[], timeoutMs = 90_000): Promise<Result> {
    const [cmd, argv] = clusterArgv(args)
    return new Promise((resolve) => {
      execFile(cmd, argv, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
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
      const on =
        /partitions: on \(iptables chain TALLY-CHAOS-([0-9a-f]+) on lo, one cgroup per node under (\S+);/.exec(
          out,
        )
      expect(on, out).not.toBeNull()
      // The run's cgroup carries the run's id, like its chain.
      const ownCgroup = on?.[2] as string
      expect(ownCgroup).toBe(`tally-chaos-${on?.[1]}`)
      // At least one partition was cut, seen by both sides, and healed.
      expect(verdict).toMatch(/partition \{[^}]+\}\|\{[^}]+\} \d+ ms \(cut seen \d+ ms\) → \d+ ms/)
      expect(out).toMatch(/cut seen: each side shows the other not live/)
      // Nothing left behind: no chain in the namespace, not this run's cgroup, nodes back out of it.
      // Only this run's: the cgroup root is the machine's, and another run (a concurrent CI or test
      // run) may have its own tally-chaos-… cgroup there at this moment.
      const rules = execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'iptables', '-w', '-S'], {
        encoding: 'utf8',
      })
      expect(rules).not.toMatch(/TALLY-CHAOS/)
      expect(existsSync(join(cgroup2Root() as string, ownCgroup)), `${ownCgroup} left behind`).toBe(false)
      for (const pid of nodePids()) {
        expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), `node pid ${pid}`).not.toContain(ownCgroup)
      }
    } else {
      expect(out).toMatch(/partitions: off \(TALLY_CHAOS_PARTITIONS=0\)/)
      expect(verdict).not.toMatch(/partition \{/)
    }
    const status = await cluster(['status'], 30_000)
    expect(status.code, status.stdout).toBe(0)
  }, 260_000)
  it.skipIf(unavailable !== null)(
    `removes its own cgroups and chain when interrupted (SIGTERM) mid-run${unavailable === null ? '' : ` (needs partitions: ${unavailable})`}`,
    async () => {
      const [cmd, argv] = clusterArgv(['chaos', '60'])
      // run-cluster.sh execs the checker, so the signal reaches it (nsenter execs bash for a network namespace).
      const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString()
      })
      child.stderr.on('data', (b: Buffer) => {
        out += b.toString()
      })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      let ownCgroup = ''
      try {
        // Interrupted once every node runs in this run's cgroups: there is something to remove.
        await until(() => /node-3 restarted into its own cgroup/.test(out) || child.exitCode !== null, {
          what: 'the checker adopting every node into its cgroup',
          timeoutMs: 120_000,
        })
        ownCgroup = /one cgroup per node under (tally-chaos-[0-9a-f]+);/.exec(out)?.[1] ?? ''
        expect(ownCgroup, out).not.toBe('')
        const dir = join(cgroup2Root() as string, ownCgroup)
        expect(existsSync(dir), out).toBe(true)
        child.kill('SIGTERM')
        expect(await exited, out).toBe(143)
        expect(existsSync(dir), `${ownCgroup} left behind:\n${out}`).toBe(false)
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL')
          await exited
        }
      }
      recordPids(logs, pids)
      const rules = execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'iptables', '-w', '-S'], {
        encoding: 'utf8',
      })
      expect(rules).not.toMatch(/TALLY-CHAOS/)
      for (const pid of nodePids()) {
        expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), `node pid ${pid}`).not.toContain(ownCgroup)
      }
      // The nodes it had stopped are back, outside any chaos cgroup.
      const status = await cluster(['status'], 30_000)
      expect(status.code, status.stdout).toBe(0)
    },
    180_000,
  )
})
