// The paths a new user takes after the quick start, on real processes
// started with run-cluster.sh (ports the system picks, a temporary run
// directory): the gateway or discovery dies and comes back on its own
// (`start` starts what is missing, `restart gateway|discovery`); commands that
// read through the gateway say when it is down; a refusal is printed whole;
// `check` leaves the counter where it found it; on a stopped cluster `check`
// and `simulation` fail at once. Needs the built bins (npm run build).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'
import {
  alive,
  CHOSEN_PORTS,
  killLeftovers,
  recordedPorts,
  recordPids,
  runScript,
} from './support/processes.ts'

const BINS = ['discovery', 'node', 'gateway'].map((p) => join(ROOT, 'packages', p, 'dist', `tally-${p}.js`))
const NODES = 2

describe('run-cluster.sh when parts of the cluster go away', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tally-lifecycle-'))
  const logs = join(runDir, 'logs')
  const pids = new Set<number>()
  let env: NodeJS.ProcessEnv = {}
  let started = false
  const nodeUrl = (k: number): string => `http://127.0.0.1:${recordedPorts(logs, `node-${k}`).http}`

  async function cluster(...args: string[]) {
    const r = await runScript(join(ROOT, 'run-cluster.sh'), args, env, 90_000)
    recordPids(logs, pids)
    return r
  }

  const pidOf = (name: string): number => Number(readFileSync(join(logs, `${name}.pid`), 'utf8'))

  async function nodeValue(k: number): Promise<number> {
    const res = await fetch(`${nodeUrl(k)}/counter`, { signal: AbortSignal.timeout(2000) })
    return Number(((await res.json()) as { value: unknown }).value)
  }

  async function killHard(name: string): Promise<void> {
    const pid = pidOf(name)
    process.kill(pid, 'SIGKILL')
    await until(async () => (alive(pid) ? undefined : true), {
      what: `${name} to be gone`,
      timeoutMs: 10_000,
    })
  }

  beforeAll(async () => {
    const missing = BINS.filter((b) => !existsSync(b))
    if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run npm run build first`)
    started = true
    env = {
      ...process.env,
      TALLY_RUN_DIR: runDir,
      ...CHOSEN_PORTS,
      TALLY_SKIP_BUILD: '1',
      TALLY_LOG_LEVEL: 'warn',
    }
    const r = await cluster('start', String(NODES))
    if (r.code !== 0) throw new Error(`start failed: ${r.stdout}${r.stderr}`)
  }, 90_000)

  afterAll(async () => {
    if (started) await cluster('stop')
    killLeftovers(pids, join(ROOT, 'packages'))
    rmSync(runDir, { recursive: true, force: true })
  }, 60_000)

  it('says the gateway is down when it is, and start starts only what is missing', async () => {
    await killHard('gateway')
    const cnt = await cluster('cnt')
    expect(cnt.code, cnt.stdout).toBe(1)
    expect(cnt.stderr).toMatch(/gateway is down/)
    const client = await cluster('client')
    expect(client.code).toBe(1)
    expect(client.stderr).toMatch(/gateway is down/)
    const status = await cluster('status')
    expect(status.code).toBe(1)
    expect(status.stdout).toMatch(/gateway +- +down/)

    const discovery = pidOf('discovery')
    const start = await cluster('start')
    expect(start.code, start.stdout + start.stderr).toBe(0)
    expect(start.stdout).toMatch(/starting gateway/)
    expect(start.stdout).not.toMatch(/starting discovery|starting node/)
    expect(pidOf('discovery')).toBe(discovery)
    expect((await cluster('cnt')).stdout).toMatch(/gateway: value 0/)
  }, 90_000)

  it('restarts the gateway, discovery or one node on its own', async () => {
    for (const name of ['gateway', 'discovery', '2']) {
      const component = name === '2' ? 'node-2' : name
      const before = pidOf(component)
      const r = await cluster('restart', name)
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(r.stdout).toContain(`✓ ${component} up`)
      expect(pidOf(component)).not.toBe(before)
      expect(alive(before)).toBe(false)
    }
    // The nodes register again with the restarted discovery; the gateway finds them.
    await until(
      async () => {
        const status = await cluster('status')
        return status.code === 0 && /registered nodes 2/.test(status.stdout) ? true : undefined
      },
      { what: 'every node to be registered again', timeoutMs: 30_000 },
    )
    const bad = await cluster('restart', 'gatway')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/restart takes a node number k, gateway or discovery/)
  }, 90_000)

  it('prints a refusal whole, quotes included', async () => {
    expect((await cluster('inc', '1', '5')).code).toBe(0)
    const r = await cluster('inc', '1', '9007199254740991')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      'TALLY_OVERFLOW: increment by 9007199254740991 would take counter "default" past 2^53-1',
    )
  }, 60_000)

  it('check leaves the counter where it found it, and says so', async () => {
    await until(async () => ((await nodeValue(1)) === 5 && (await nodeValue(2)) === 5 ? true : undefined), {
      what: 'both nodes to show 5',
      timeoutMs: 30_000,
    })
    const r = await cluster('check')
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/✓ check passed; the counter is back to 5/)
    expect(await nodeValue(1)).toBe(5)
    expect(await nodeValue(2)).toBe(5)
  }, 90_000)

  it('check and simulation fail at once with exit 3 once the cluster is stopped', async () => {
    expect((await cluster('stop')).code).toBe(0)
    for (const args of [['check'], ['simulation', '5']]) {
      const started = Date.now()
      const r = await cluster(...args)
      expect(r.code, r.stdout + r.stderr).toBe(3)
      expect(r.stderr).toMatch(/nothing running/)
      // The convergence wait (TALLY_CONVERGE_TIMEOUT, 30 s) is not entered at all.
      expect(Date.now() - started).toBeLessThan(10_000)
    }
  }, 60_000)
})
