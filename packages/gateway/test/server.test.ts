// The tally-gateway bin (dist/server.js): --help, bad config exit 2, serving, clean stop on SIGTERM.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SETTINGS } from '../src/config.js'
import { GATEWAY_BIN } from './support/cluster.js'
import { type FakeNode, startFakes, until } from './support/fake-node.js'

let proc: ChildProcess | undefined
let fakes: FakeNode[] = []

beforeAll(() => {
  if (!existsSync(GATEWAY_BIN)) throw new Error(`missing ${GATEWAY_BIN}: run npm run build`)
})
afterEach(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc!.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }
  proc = undefined
  await Promise.all(fakes.map((f) => f.close()))
  fakes = []
})

describe('tally-gateway bin', () => {
  it('--help lists every flag with its env var', () => {
    const r = spawnSync(process.execPath, [GATEWAY_BIN, '--help'], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    for (const s of SETTINGS) {
      expect(r.stdout).toContain(`--${s.flag}`)
      expect(r.stdout).toContain(s.env)
    }
  })

  it.each([
    [['--port', 'abc'], {}, 'port'],
    [[], { TALLY_STRATEGY: 'nope' }, 'strategy'],
  ])('bad config %j %j exits 2 naming the setting', (argv, env, setting) => {
    const r = spawnSync(process.execPath, [GATEWAY_BIN, ...argv], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`--${setting}`)
  })

  it('serves requests on its port and stops cleanly on SIGTERM', async () => {
    fakes = await startFakes(1)
    const p = spawn(
      process.execPath,
      [GATEWAY_BIN, '--port', '0', '--resp-port', '0', '--nodes', fakes[0]!.url, '--log-level', 'info'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    proc = p
    let out = ''
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    let address = ''
    await until(
      () => {
        const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)
        if (m) address = m[1]!
        return address !== ''
      },
      20_000,
      'gateway to listen',
    )
    const r = await fetch(`${address}/increment`, { method: 'POST' })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ name: 'default', value: 1, node: 'n1' })
    const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)))
    p.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
