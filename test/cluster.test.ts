// Acceptance: a user's story against real processes, started exactly the way
// an operator does it (run-cluster.sh) on ports the system picks, in a temporary
// run directory: discovery, three nodes and the gateway come up healthy; an
// increment shows everywhere; a write retried through the gateway with the
// same Idempotency-Key counts once; a node added later is discovered and catches
// up; a killed node does not stop the others, and catches up on restart; a
// decrement goes negative; `stop` leaves no process behind.
// Needs the built bins (npm run build).

import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gossipRoundsPass, RawResp, until } from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'
import {
  alive,
  CHOSEN_PORTS,
  killLeftovers,
  type Result,
  recordedPorts,
  recordPids,
} from './support/processes.ts'

const BINS = ['discovery', 'node', 'gateway'].map((p) => join(ROOT, 'packages', p, 'dist', `tally-${p}.js`))

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
  if (!res.ok) throw new Error(`${url} answered ${res.status}`)
  return res.json()
}

describe('a local cluster started with run-cluster.sh', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tally-cluster-'))
  const pids = new Set<number>()
  let env: NodeJS.ProcessEnv = {}
  let started = false
  const ports = (name: string) => recordedPorts(join(runDir, 'logs'), name)
  const nodeUrl = (k: number): string => `http://127.0.0.1:${ports(`node-${k}`).http}`
  const gatewayUrl = (): string => `http://127.0.0.1:${ports('gateway').http}`

  function cluster(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      execFile(
        'bash',
        [join(ROOT, 'run-cluster.sh'), ...args],
        { env, timeout: 90_000 },
        (err, stdout, stderr) => {
          recordPids(join(runDir, 'logs'), pids)
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr })
        },
      )
    })
  }

  async function counterAt(url: string): Promise<number> {
    const body = (await getJson(`${url}/counter`)) as { value: unknown }
    return Number(body.value)
  }

  /** Waits until every listed node (and the gateway when asked) reports `value`. */
  async function converge(value: number, nodes: readonly number[], gateway = true): Promise<void> {
    for (const k of nodes)
      await until(async () => ((await counterAt(nodeUrl(k))) === value ? true : undefined), {
        what: `node-${k} to show ${value}`,
        timeoutMs: 30_000,
      })
    if (gateway)
      await until(async () => ((await counterAt(gatewayUrl())) === value ? true : undefined), {
        what: `the gateway to show ${value}`,
        timeoutMs: 30_000,
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
      TALLY_START_TIMEOUT: '60',
      TALLY_CONVERGE_TIMEOUT: '30',
      TALLY_LOG_LEVEL: 'warn',
    }
  })

  afterAll(async () => {
    if (started) await cluster('stop')
    // Whatever survived `stop` (a failed test may have left it) is ours: kill it.
    killLeftovers(pids, join(ROOT, 'packages'))
    rmSync(runDir, { recursive: true, force: true })
  }, 60_000)

  it('starts discovery, three nodes and the gateway, all healthy', async () => {
    const r = await cluster('start', '3')
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain('cluster up')
    expect(pids.size).toBe(5)
    const status = await cluster('status')
    expect(status.code, status.stdout).toBe(0)
    for (const k of [1, 2, 3]) {
      const health = (await getJson(`${nodeUrl(k)}/health`)) as { id: string; status: string }
      expect(health).toMatchObject({ id: `node-${k}`, status: 'ok' })
    }
    const again = await cluster('start', '3')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/already running/)
  }, 90_000)

  it('shows an increment on node 1 on every node and through the gateway', async () => {
    const r = await cluster('inc', '1', '5')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/node-1: \+5 → value 5/)
    await converge(5, [1, 2, 3])
  }, 60_000)

  it('speaks Redis on the gateway and on every node (redis-cli -p <port> incr …)', async () => {
    const gw = await RawResp.open(ports('gateway').resp)
    expect(await gw.call('INCR', 'resp:views')).toBe(1)
    gw.close()
    for (const k of [1, 2, 3]) {
      const c = await RawResp.open(ports(`node-${k}`).resp)
      await until(async () => (await c.call('GET', 'resp:views')) === '1', {
        what: `node-${k} to see the RESP write`,
        timeoutMs: 30_000,
      })
      expect(((await c.call('INFO', 'tally')) as string).includes(`tally_node_id:node-${k}`)).toBe(true)
      c.close()
    }
    expect((await cluster('status')).stdout).toMatch(new RegExp(`gateway .* ${ports('gateway').resp} `))
  }, 60_000)

  it('counts a write retried through the gateway with the same Idempotency-Key once', async () => {
    const send = async (): Promise<unknown> => {
      const res = await fetch(`${gatewayUrl()}/counters/retried/increment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'acceptance-retry-1' },
        body: JSON.stringify({ amount: 4 }),
        signal: AbortSignal.timeout(5000),
      })
      expect(res.status).toBe(200)
      return res.json()
    }
    for (let i = 0; i < 3; i++) expect(await send()).toMatchObject({ name: 'retried', value: 4 })
    for (const k of [1, 2, 3]) {
      await until(
        async () => {
          const { value } = (await getJson(`${nodeUrl(k)}/counters/retried`)) as { value: number }
          return value === 4 ? true : undefined
        },
        { what: `node-${k} to count the retried write once`, timeoutMs: 30_000 },
      )
    }
    // Still 4 after more gossip rounds everywhere: no copy arrives late from another node.
    await gossipRoundsPass([1, 2, 3].map(nodeUrl))
    for (const k of [1, 2, 3])
      expect(await getJson(`${nodeUrl(k)}/counters/retried`)).toMatchObject({ value: 4 })
  }, 60_000)

  it('discovers a node started later, which catches up', async () => {
    const r = await cluster('add')
    expect(r.code, r.stdout + r.stderr).toBe(0)
    await converge(5, [4], false)
    await until(
      async () => {
        const { peers } = (await getJson(`${nodeUrl(1)}/peers`)) as { peers: { id: string; state: string }[] }
        return peers.some((p) => p.id === 'node-4' && p.state === 'live') ? true : undefined
      },
      { what: 'node-1 to list node-4 as a live peer', timeoutMs: 30_000 },
    )
  }, 90_000)

  it('keeps counting while a node is killed, and the node catches up on restart', async () => {
    const pid = Number(readFileSync(join(runDir, 'logs', 'node-2.pid'), 'utf8'))
    const k = await cluster('kill', '2')
    expect(k.code, k.stderr).toBe(0)
    await until(async () => (alive(pid) ? undefined : true), { what: 'node-2 to be gone', timeoutMs: 10_000 })
    expect((await cluster('inc', '1', '3')).code).toBe(0)
    expect((await cluster('inc', '3', '2')).code).toBe(0)
    await converge(10, [1, 3, 4])
    // The gateway keeps listing the killed node, as down, and status counts it.
    await until(async () => ((await cluster('status')).stdout.includes(', 1 down') ? true : undefined), {
      what: 'status to count node-2 as down at the gateway',
      timeoutMs: 30_000,
    })
    const r = await cluster('restart', '2')
    expect(r.code, r.stdout + r.stderr).toBe(0)
    await converge(10, [2], false)
  }, 90_000)

  it('decrements below zero and reports the negative value consistently', async () => {
    const r = await cluster('dec', '4', '25')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/node-4: -25 → value -15/)
    await converge(-15, [1, 2, 3, 4])
    const cnt = await cluster('cnt', '2')
    expect(cnt.stdout).toMatch(/node-2: value -15/)
    const c = await cluster('consistency')
    expect(c.code, c.stdout).toBe(0)
    expect(c.stdout).toMatch(/✓ consistent: value -15 on all 4 live node/)
  }, 90_000)

  it('runs the operator commands: check, a short simulation, the client and the monitor', async () => {
    const check = await cluster('check')
    expect(check.code, check.stdout + check.stderr).toBe(0)
    expect(check.stdout).toContain('✓ check passed')
    const sim = await cluster('simulation', '2', '0.5', '2')
    expect(sim.code, sim.stdout + sim.stderr).toBe(0)
    const acked = /acknowledged sum: (-?\d+)/.exec(sim.stdout)
    const converged = /✓ converged on (-?\d+)/.exec(sim.stdout)
    expect(acked, sim.stdout).not.toBeNull()
    expect(converged, sim.stdout).not.toBeNull()
    const final = Number(converged?.[1])
    await converge(final, [1, 2, 3, 4])

    const client = await new Promise<Result>((resolve) => {
      const child = execFile(
        'bash',
        [join(ROOT, 'run-cluster.sh'), 'client'],
        { env, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr }),
      )
      child.stdin?.end('7\n-20\nnonsense\nget\n')
    })
    expect(client.code, client.stderr).toBe(0)
    expect(client.stdout).toContain(`value ${final + 7}`)
    expect(client.stdout).toContain(`value ${final - 13}`)
    expect(client.stdout).toMatch(/not understood: 'nonsense'/)
    await converge(final - 13, [1, 2, 3, 4])

    const monitor = await new Promise<Result>((resolve) =>
      execFile(
        'bash',
        [join(ROOT, 'monitor.sh'), '--once'],
        { env, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr }),
      ),
    )
    expect(monitor.code, monitor.stderr).toBe(0)
    expect(monitor.stdout).toContain(`✓ CONVERGED on ${final - 13} (4/4 nodes up)`)
    expect(monitor.stdout).toMatch(/dashboard http:\/\/[^ ]+\//)
  }, 90_000)

  it('stops everything and leaves no process behind', async () => {
    const r = await cluster('stop')
    expect(r.code, r.stderr).toBe(0)
    expect(pids.size).toBeGreaterThanOrEqual(7)
    await until(async () => ([...pids].some(alive) ? undefined : true), {
      what: 'every started process to exit',
      timeoutMs: 15_000,
    })
    expect(readdirSync(join(runDir, 'logs')).filter((f) => f.endsWith('.pid'))).toEqual([])
    expect((await cluster('status')).code).toBe(3)
  }, 60_000)
})
