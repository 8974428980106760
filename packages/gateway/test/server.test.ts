// The tally-gateway bin (dist/tally-gateway.js, bundled): --help, bad config exit 2, serving, clean stop on SIGTERM.

import { spawnSync } from 'node:child_process'
import { Cleanup, requireBuilt, spawnProc, stopProc, waitForLine } from '@tally/kit/testing'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SETTINGS } from '../src/config.js'
import { GATEWAY_BIN } from './support/cluster.js'
import { type FakeNode, startFakes } from './support/fake-node.js'

const cleanup = new Cleanup()
let fakes: FakeNode[] = []

beforeAll(() => requireBuilt(GATEWAY_BIN))
afterEach(async () => {
  await cleanup.run()
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
    const p = spawnProc(cleanup, 'gateway', GATEWAY_BIN, [
      ...['--port', '0', '--resp-port', '0', '--nodes', fakes[0]!.url, '--log-level', 'info'],
    ])
    const address = await waitForLine(
      p,
      (r) =>
        typeof r.address === 'string' && r.address.startsWith('http://127.0.0.1:') ? r.address : undefined,
      20_000,
    )
    const r = await fetch(`${address}/increment`, { method: 'POST' })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ name: 'default', value: 1, node: 'n1' })
    expect(await stopProc(p)).toBe(0)
  })
})
