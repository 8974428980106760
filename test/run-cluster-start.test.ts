// What `run-cluster.sh start` does before and around the components, on a
// stand-in checkout (test/support/fake-checkout.ts): it installs and builds
// only when something changed, however the last build was made; it shows
// every long step progressing and what it waits for; and Ctrl-C in the
// middle stops what it had started, so that the next start is not refused.

import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { until } from '@tally/kit/testing'
import { describe, expect, it, type TestContext } from 'vitest'
import { type FakeCheckout, fakeCheckout } from './support/fake-checkout.ts'
import { alive, CHOSEN_PORTS, killLeftovers, recordPids, runScript } from './support/processes.ts'

/** A stand-in checkout whose components bind ports the system picks. */
async function checkout(ctx: TestContext, extra: Record<string, string> = {}): Promise<Checkout> {
  const c = fakeCheckout()
  const pids = new Set<number>()
  // Whatever happens: kill what this test's scripts started (by pid), then remove the checkout.
  ctx.onTestFinished(() => {
    recordPids(join(c.root, 'run', 'logs'), pids)
    killLeftovers(pids, c.root)
    c.dispose()
  })
  const env = {
    ...c.env,
    ...CHOSEN_PORTS,
    TALLY_STOP_TIMEOUT: '5',
    ...extra,
  }
  return { ...c, run: env, pids }
}
type Env = NodeJS.ProcessEnv
/** A stand-in checkout, the environment to run its scripts with, and every pid they started. */
type Checkout = FakeCheckout & { run: Env; pids: Set<number> }

/** The stand-in npm's and tsc's calls so far, one string each. */
function calls(c: FakeCheckout): string[] {
  return readFileSync(c.npmLog, 'utf8').split('\n').filter(Boolean)
}

function start(c: Checkout, args: string[], extra: Env = {}, timeoutMs = 60_000) {
  return runScript(join(c.root, 'run-cluster.sh'), args, { ...c.run, ...extra }, timeoutMs).finally(() =>
    recordPids(join(c.root, 'run', 'logs'), c.pids),
  )
}

describe.concurrent('run-cluster.sh start on a checkout', () => {
  it('does not build again after a build it did not run itself, and builds when a source changed', async (ctx) => {
    // Discovery's stand-in exits at once: each start stops right after install and build.
    const c = await checkout(ctx, { FAKE_DISCOVERY: 'exit' })
    const first = await start(c, ['start', '1'])
    expect(first.stderr).toMatch(/discovery exited during start-up/)
    expect(calls(c), first.stdout).toEqual([])
    expect(first.stdout).not.toMatch(/building/)

    c.age('packages/node/src/index.ts', 0)
    const second = await start(c, ['start', '1'], { FAKE_BUILD_NOOP: '1' })
    expect(calls(c)).toEqual(['tsc -b --dry', 'npm run build --silent'])
    expect(second.stdout).toMatch(/building \(npm run build\): packages\/node\/src\/index\.ts changed/)

    // tsc found nothing to rewrite (FAKE_BUILD_NOOP): the script's own stamp
    // records that build, so the next start neither asks tsc nor builds.
    const third = await start(c, ['start', '1'])
    expect(calls(c), third.stdout).toEqual(['tsc -b --dry', 'npm run build --silent'])

    c.age('package-lock.json', 0)
    c.age('node_modules/.package-lock.json', 0)
    await start(c, ['start', '1'])
    expect(calls(c).filter((l) => l.startsWith('npm'))).toEqual([
      'npm run build --silent',
      'npm run build --silent',
    ])
  }, 60_000)

  it('asks tsc before building when only file times moved, and remembers its answer', async (ctx) => {
    const c = await checkout(ctx, { FAKE_DISCOVERY: 'exit', FAKE_TSC_DRY: 'up-to-date' })
    c.age('packages/crdt/src/index.ts', 0) // touched (a checkout, an editor), content as built
    const first = await start(c, ['start', '1'])
    expect(calls(c), first.stdout).toEqual(['tsc -b --dry'])
    expect(first.stdout).not.toMatch(/building/)
    await start(c, ['start', '1'])
    expect(calls(c)).toEqual(['tsc -b --dry'])
  }, 60_000)

  it('shows the install, the build and the wait for health progressing, with what it waits for', async (ctx) => {
    // The stand-in install and build last until the script's output (a file
    // here, read as it grows) shows their progress line, as a long one would.
    const c = await checkout(ctx, { FAKE_NODE: 'hang', TALLY_START_TIMEOUT: '6' })
    const out = join(c.root, 'start.out')
    c.age('node_modules/.package-lock.json', 950)
    c.age('packages/gateway/src/index.ts', 0)
    const script = join(c.root, 'run-cluster.sh')
    const env = { ...c.run, FAKE_NPM_UNTIL_PROGRESS: out, START_OUT: out }
    const r0 = await runScript('-c', ['exec bash "$0" "$@" >"$START_OUT"', script, 'start', '1'], env, 90_000)
    recordPids(join(c.root, 'run', 'logs'), c.pids)
    const r = { ...r0, stdout: readFileSync(out, 'utf8') }
    expect(calls(c).filter((l) => l.startsWith('npm'))).toEqual([
      'npm ci --no-audit --no-fund',
      'npm run build --silent',
    ])
    expect(r.stdout).toMatch(/installing dependencies \(npm ci[^)]*\) … [5-9]s/)
    expect(r.stdout).toMatch(/building \(npm run build\): [^\n]* … [5-9]s/)
    // A stand-in node that hangs never logs the port it chose: that is what start waits for,
    // and says so before it gives up.
    expect(r.stdout).toMatch(/waiting for node-1 \(to log the ports it chose\) … [5-9]s/)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/not healthy after 6s: node-1/)
    expect(r.stderr).toMatch(/start failed: stopping what it had started \(discovery node-1\)/)
    await until(async () => ([...c.pids].some(alive) ? undefined : true), {
      what: 'every started process to exit',
      timeoutMs: 15_000,
    })
  }, 90_000)

  it('stops what it had started when interrupted (Ctrl-C), and says so; the next start is not refused', async (ctx) => {
    // The nodes never become healthy: the start is sure to be waiting for them.
    const c = await checkout(ctx, { FAKE_NODE: 'hang', TALLY_SKIP_BUILD: '1' })
    const logs = join(c.run.TALLY_RUN_DIR as string, 'logs')
    // Its own process group, like a command run from a terminal, where Ctrl-C
    // sends SIGINT to the whole group.
    const child = spawn('bash', [join(c.root, 'run-cluster.sh'), 'start', '2'], {
      env: c.run,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      // A pid file can exist a moment before its pid is in it: wait for the pids themselves.
      await until(
        async () => {
          recordPids(logs, c.pids)
          return existsSync(join(logs, 'node-2.pid')) && c.pids.size >= 3 ? true : undefined
        },
        { what: 'discovery and both nodes to be spawned, with their pids recorded', timeoutMs: 30_000 },
      )
      recordPids(logs, c.pids)
      expect(c.pids.size).toBe(3) // discovery, node-1, node-2
      process.kill(-(child.pid as number), 'SIGINT')
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r('still running'), 20_000)),
      ])
      expect(code, out).toBe(130)
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, 'SIGKILL')
    }
    expect(out).toMatch(
      /start interrupted \(Ctrl-C\): stopping what it had started \(discovery node-1 node-2\)/,
    )
    await until(async () => ([...c.pids].some(alive) ? undefined : true), {
      what: 'every started process to exit',
      timeoutMs: 15_000,
    })
    expect(readdirSync(logs).filter((f) => f.endsWith('.pid'))).toEqual([])

    const again = await start(c, ['start', '2'], { FAKE_NODE: 'serve' })
    expect(again.code, again.stdout + again.stderr).toBe(0)
    expect(again.stdout).toMatch(/cluster up/)
    const stop = await start(c, ['stop'])
    expect(stop.code).toBe(0)
  }, 60_000)
})
