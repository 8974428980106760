// run-cluster.sh and monitor.sh refuse bad arguments with exit code 2 and a
// message naming the problem, without starting anything; they say so at once
// when nothing runs; they work through a symlink; they print what a node
// answers whole; monitor.sh lines up its columns and keeps its refresh
// interval when a node hangs; the README's examples stay on loopback; and the
// scripts are shellcheck-clean when shellcheck is installed.

import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from '@tally/kit/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'

interface Result {
  code: number
  stdout: string
  stderr: string
}

const runDir = mkdtempSync(join(tmpdir(), 'tally-cli-'))
const otherDirs: string[] = []
afterAll(() => {
  for (const d of [runDir, ...otherDirs]) rmSync(d, { recursive: true, force: true })
})

/** A new run directory in which a cluster of `size` nodes was started once (and is not running). */
function stoppedCluster(size: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'))
  otherDirs.push(dir)
  mkdirSync(join(dir, 'logs'))
  writeFileSync(join(dir, 'logs', 'cluster.size'), `${size}\n`)
  return dir
}

// Ports nobody listens on (never the documented ones): nothing is started here.
const env = {
  ...process.env,
  TALLY_RUN_DIR: runDir,
  TALLY_DISCOVERY_PORT: '1',
  TALLY_GOSSIP_BASE_PORT: '2',
  TALLY_HTTP_BASE_PORT: '20',
  TALLY_GATEWAY_PORT: '3',
}

function sh(
  script: string,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  timeout = 20_000,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [script.startsWith('/') ? script : join(ROOT, script), ...args],
      { env: { ...env, ...extraEnv }, timeout },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe('run-cluster.sh arguments', () => {
  it.each([
    [['start', '0'], /number of nodes/],
    [['start', 'x'], /number of nodes/],
    [['start', '65'], /number of nodes/],
    [['start', '3', '4'], /usage: start/],
    [['inc', 'abc'], /node must be a number/],
    [['inc', '-1'], /node must be a number/],
    [['inc', '1', '0'], /amount must be/],
    [['dec', '1', '-3'], /amount must be/],
    [['dec', '1', '1.5'], /amount must be/],
    [['inc', '1', '9007199254740992'], /amount must be/],
    [['inc', '1', 'ten'], /amount must be/],
    [['kill'], /usage: kill/],
    [['restart', 'gatway'], /restart takes a node number k, gateway or discovery/],
    [['restart', '1', '2'], /usage: restart \[k\|gateway\|discovery\]/],
    [['sim', '0'], /duration/],
    [['sim', '10', 'fast'], /interval/],
    [['sim', '10', '1', '0'], /ops/],
    [['frobnicate'], /unknown command/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await sh('run-cluster.sh', args)
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
  })

  it('rejects a bad port override before doing anything', async () => {
    const r = await sh('run-cluster.sh', ['status'], { TALLY_GATEWAY_PORT: '70000' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/TALLY_GATEWAY_PORT/)
    for (const bad of ['any', '-1', 'x']) {
      const http = await sh('run-cluster.sh', ['status'], { TALLY_HTTP_BASE_PORT: bad })
      expect(http.code, bad).toBe(2)
      expect(http.stderr).toMatch(
        /TALLY_HTTP_BASE_PORT must be a port number 1-65535 \(or 0: any free port\)/,
      )
    }
    for (const bad of ['Any', '70000', '0x10']) {
      const resp = await sh('run-cluster.sh', ['status'], { TALLY_RESP_BASE_PORT: bad })
      expect(resp.code, bad).toBe(2)
      expect(resp.stderr).toMatch(/TALLY_RESP_BASE_PORT must be a port number 1-65535, 0 \(off\) or any/)
    }
  })

  it('passes chosen ports to the bins as 0 (RESP: any), and a RESP port of 0 as off', async () => {
    const chosen = { TALLY_DRY_RUN: '1', TALLY_RUN_DIR: stoppedCluster(0) }
    const any = await sh('run-cluster.sh', ['start', '1'], {
      ...chosen,
      TALLY_DISCOVERY_PORT: '0',
      TALLY_GATEWAY_PORT: '0',
      TALLY_GATEWAY_RESP_PORT: 'any',
      TALLY_GOSSIP_BASE_PORT: '0',
      TALLY_HTTP_BASE_PORT: '0',
      TALLY_RESP_BASE_PORT: 'any',
    })
    expect(any.code, any.stderr).toBe(0)
    expect(any.stdout).toMatch(
      /node-1: node \S+ --id node-1 --host 127\.0\.0\.1 --tcp-port 0 --http-port 0 --resp-port any /,
    )
    expect(any.stdout).toMatch(/gateway: node \S+ --host 127\.0\.0\.1 --port 0 --resp-port any /)
    expect(any.stdout).toMatch(/starting discovery on :any/)
    const off = await sh('run-cluster.sh', ['start', '1'], {
      ...chosen,
      TALLY_RESP_BASE_PORT: '0',
      TALLY_GATEWAY_RESP_PORT: '0',
    })
    expect(off.code, off.stderr).toBe(0)
    expect(off.stdout).toMatch(/--id node-1 .*--resp-port 0 /)
    expect(off.stdout).toMatch(/starting gateway on :3 \(RESP off\)/)
  })

  it('says so when no cluster runs: status 3, stop 0, counter commands 1', async () => {
    expect((await sh('run-cluster.sh', ['status'])).code).toBe(3)
    const stop = await sh('run-cluster.sh', ['stop'])
    expect(stop.code).toBe(0)
    expect(stop.stdout).toMatch(/nothing running/)
    const inc = await sh('run-cluster.sh', ['inc', '2', '5'])
    expect(inc.code).toBe(1)
    expect(inc.stderr).toMatch(/no cluster has been started/)
    expect((await sh('run-cluster.sh', ['consistency'])).code).toBe(1)
    const restart = await sh('run-cluster.sh', ['restart', 'gateway'])
    expect(restart.code).toBe(1)
    expect(restart.stderr).toMatch(/no cluster has been started/)
  })

  it('fails at once with exit 3 "nothing running" for check and simulation on a stopped cluster', async () => {
    const dir = stoppedCluster(3)
    for (const args of [['check'], ['simulation', '5', '1', '1']]) {
      const started = Date.now()
      // Before: both waited TALLY_CONVERGE_TIMEOUT (30 s) for nodes that were not there.
      const r = await sh('run-cluster.sh', args, { TALLY_RUN_DIR: dir }, 10_000)
      expect(r.code, r.stdout + r.stderr).toBe(3)
      expect(r.stderr).toMatch(/nothing running/)
      expect(Date.now() - started).toBeLessThan(10_000)
    }
  })

  it('says there was nothing to remove when clean finds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'))
    otherDirs.push(dir)
    const r = await sh('run-cluster.sh', ['clean'], { TALLY_RUN_DIR: dir })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/nothing to remove/)
    expect(r.stdout).not.toMatch(/removed/)
    const again = await sh('run-cluster.sh', ['clean'], { TALLY_RUN_DIR: stoppedCluster(1) })
    expect(again.stdout).toMatch(/removed \S+\/logs\n/)
  })

  it('prints the whole message of a refusal, escaped quotes and all', async () => {
    // A stand-in node-1 that refuses every request the way a node does.
    const message = 'increment by 9 would take counter "default" past 2^53-1 (a \\ and\nnew line)'
    const srv = createHttpServer((_req, res) => {
      res.writeHead(422, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'TALLY_OVERFLOW', message } }))
    })
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
    try {
      const port = (srv.address() as { port: number }).port
      const r = await sh('run-cluster.sh', ['inc', '1', '9'], {
        TALLY_RUN_DIR: stoppedCluster(1),
        TALLY_HTTP_BASE_PORT: String(port),
      })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(
        'node-1 refused (422) TALLY_OVERFLOW: increment by 9 would take counter "default" past 2^53-1 (a \\ and new line)',
      )
    } finally {
      srv.close()
    }
  })

  it('works through a symlink (and a symlink to a symlink) from another directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cli-link-'))
    otherDirs.push(dir)
    symlinkSync(join(ROOT, 'run-cluster.sh'), join(dir, 'tally'))
    symlinkSync('tally', join(dir, 'tally-again'))
    symlinkSync(join(ROOT, 'monitor.sh'), join(dir, 'tally-monitor'))
    for (const link of ['tally', 'tally-again']) {
      const r = await sh(join(dir, link), ['help'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^Usage:/)
    }
    const m = await sh(join(dir, 'tally-monitor'), ['--once'])
    expect(m.code, m.stderr).toBe(0)
    expect(m.stdout).toMatch(/no cluster started/)
  })

  it('documents restarting one part, exit code 3, the dashboard and a random node for peers', async () => {
    const r = await sh('run-cluster.sh', ['help'])
    expect(r.stdout).toMatch(/restart \[k\|gateway\|discovery\]/)
    expect(r.stdout).toMatch(/3 nothing running/)
    expect(r.stdout).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:3\//)
    expect(r.stdout).toMatch(
      /peers\|p \[k\] +node k's view of its peers \(a random live node when k is omitted\)/,
    )
  })

  it('prints help with exit code 0', async () => {
    const r = await sh('run-cluster.sh', ['help'])
    expect(r.code).toBe(0)
    for (const cmd of [
      'start',
      'stop',
      'status',
      'restart',
      'inc',
      'dec',
      'consistency',
      'simulation',
      'client',
    ]) {
      expect(r.stdout).toContain(cmd)
    }
  })
})

describe('monitor.sh', () => {
  it('draws one frame with --once and exits 0', async () => {
    const r = await sh('monitor.sh', ['--once'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/no cluster started/)
  })

  it('lines up a DOWN row with the header (the dash is one column wide)', async () => {
    const r = await sh('monitor.sh', ['--once'], { TALLY_RUN_DIR: stoppedCluster(2) })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    const header = lines.find((l) => l.startsWith('NODE')) as string
    const rows = lines.filter((l) => l.startsWith('node-'))
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      expect(row).toContain('DOWN')
      expect(row.indexOf('DOWN')).toBe(header.indexOf('STATUS'))
      // VALUE is right-aligned: the dash ends where the heading ends.
      expect(row.indexOf('—') + 1).toBe(header.indexOf('VALUE') + 'VALUE'.length)
      expect(row.lastIndexOf('—')).toBe(header.indexOf('LIVE PEERS'))
    }
  })

  it('does not claim to know when the values last changed from a single frame', async () => {
    const r = await sh('monitor.sh', ['--once'], { TALLY_RUN_DIR: stoppedCluster(1) })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/NO NODE ANSWERS/)
    expect(r.stdout).not.toMatch(/last change/)
  })

  it('keeps its refresh interval while a node hangs', async () => {
    // node-1 accepts connections and never answers.
    const held: Socket[] = []
    const srv = createServer((s) => held.push(s))
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
    const port = (srv.address() as { port: number }).port
    const child = spawn('bash', [join(ROOT, 'monitor.sh'), '1'], {
      // A long request timeout: a frame that waited for the hanging node would take 10 s more.
      env: {
        ...env,
        TALLY_RUN_DIR: stoppedCluster(1),
        TALLY_HTTP_BASE_PORT: String(port),
        TALLY_HTTP_TIMEOUT: '10',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const frames: number[] = []
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      for (const _ of String(d).matchAll(/Tally cluster monitor/g)) frames.push(Date.now())
    })
    try {
      await until(async () => (frames.length >= 5 ? true : undefined), {
        what: `5 frames (got ${frames.length}): ${out}`,
        timeoutMs: 30_000,
      })
      // 4 intervals of 1 s. A frame that waited out the hanging node would
      // take TALLY_HTTP_TIMEOUT (10 s) on top of the interval: the bound sits
      // far from both, so a loaded machine cannot blur the difference.
      const mean = ((frames[4] as number) - (frames[0] as number)) / 4
      expect(mean).toBeLessThan(5000)
      expect(out).toMatch(/refresh 1s/)
      expect(out).toMatch(/node-1 .* NO ANSWER/)
    } finally {
      child.kill('SIGKILL')
      for (const s of held) s.destroy()
      srv.close()
    }
  }, 45_000)

  it('refuses a bad interval with exit code 2', async () => {
    const r = await sh('monitor.sh', ['0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/interval/)
  })
})

describe('README.md', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

  it('registers only loopback addresses with discovery in its examples, and removes them again', () => {
    const registers = [...readme.matchAll(/\/register[^\n]*\n?[^\n]*-d '(\{[^']*\})'/g)].map(
      (m) => JSON.parse(m[1] as string) as { id: string; addr: string; http: string },
    )
    expect(registers.length).toBeGreaterThan(0)
    for (const r of registers) {
      expect(r.addr).toMatch(/^127\.\d+\.\d+\.\d+:\d+$/)
      expect(r.http).toMatch(/^http:\/\/127\.\d+\.\d+\.\d+:\d+$/)
      const at = readme.indexOf(`"id":"${r.id}"`)
      expect(readme.indexOf(`DELETE localhost:8000/peers/${r.id}`, at), r.id).toBeGreaterThan(at)
    }
  })

  it("shows the dashboard (the gateway's GET /) and says p without a node picks a random one", () => {
    expect(readme).toMatch(/dashboard[^\n]*http:\/\/127\.0\.0\.1:8080\//i)
    const peersRow = readme.split('\n').find((l) => l.startsWith('| `peers'))
    expect(peersRow).toMatch(/random/)
  })

  it('lists restart of the gateway and discovery, and exit code 3', () => {
    expect(readme).toMatch(/\| `restart \[k\\\|gateway\\\|discovery\]` \|/)
    expect(readme).toMatch(/3 nothing running/)
  })
})

describe('scripts/json-probe.mjs listening', () => {
  const probe = (log: string, name: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'))
    otherDirs.push(dir)
    writeFileSync(join(dir, 'x.log'), log)
    return new Promise<Result>((resolve) =>
      execFile(
        'node',
        [join(ROOT, 'scripts/json-probe.mjs'), 'listening', join(dir, 'x.log'), name],
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      ),
    )
  }
  const start = (name: string) => `{"level":30,"msg":"run-cluster.sh: starting ${name}"}\n`

  it("reads the ports of the component's last start, HTTP GOSSIP RESP", async () => {
    const log =
      start('node-1') +
      '{"msg":"listening","http":"http://127.0.0.1:41001","gossip":"127.0.0.1:41002","resp":"127.0.0.1:41003"}\n' +
      start('node-1') +
      'not json at all\n{"msg":"recovering"}\n' +
      '{"msg":"listening","http":"http://127.0.0.1:42001","gossip":"127.0.0.1:42002"}\n'
    const r = await probe(log, 'node-1')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('42001 42002 0\n')
    const gw = await probe(
      `${start('gateway')}{"msg":"tally-gateway listening","address":"http://127.0.0.1:43001","resp":"127.0.0.1:43002"}\n`,
      'gateway',
    )
    expect(gw.stdout).toBe('43001 0 43002\n')
  })

  it('fails while the last start has not logged its ports, or for another component', async () => {
    const log = `${start('node-1')}{"msg":"listening","http":"http://127.0.0.1:41001"}\n${start('node-1')}`
    expect((await probe(log, 'node-1')).code).toBe(1)
    expect((await probe(log, 'node-2')).code).toBe(1)
  })
})

// shellcheck is optional (apt-get install shellcheck); without it there is nothing to run.
const shellcheck = await new Promise<boolean>((resolve) =>
  execFile('shellcheck', ['--version'], (err) => resolve(err === null)),
)

describe('shell scripts', () => {
  it.skipIf(!shellcheck)('are shellcheck-clean', async () => {
    const files = [
      'run-cluster.sh',
      'monitor.sh',
      'scripts/cluster-env.sh',
      'scripts/cluster-lifecycle.sh',
      'scripts/cluster-ops.sh',
    ]
    const r = await new Promise<Result>((resolve) =>
      execFile('shellcheck', ['-x', ...files], { cwd: ROOT }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : 1, stdout, stderr }),
      ),
    )
    expect(r.stdout + r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
