import { fileURLToPath } from 'node:url'
import {
  Cleanup,
  http,
  type Proc,
  portOf,
  requireBuilt,
  spawnProc,
  stopProc,
  waitForLine,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SETTINGS } from '../src/config.js'

// The built bin: flags, exit codes and signals as an operator sees them.
const BIN = fileURLToPath(new URL('../dist/tally-discovery.js', import.meta.url))
const cleanup = new Cleanup()

beforeAll(() => requireBuilt(BIN))
afterAll(() => cleanup.run())

function run(args: string[], env: Record<string, string> = {}): Proc {
  return spawnProc(cleanup, 'discovery', BIN, args, { env })
}

/** The port a running discovery bound, from its `discovery listening` log line (info level). */
const listeningPort = (p: Proc) =>
  waitForLine(p, (r) =>
    r.msg === 'discovery listening' && typeof r.address === 'string' ? portOf(r.address) : undefined,
  )

describe('tally-discovery bin', () => {
  it('--help lists every flag with its env var and default, exit 0', async () => {
    const p = run(['--help'])
    expect(await p.exited).toBe(0)
    for (const s of SETTINGS) {
      expect(p.output()).toContain(`--${s.flag}`)
      expect(p.output()).toContain(s.env)
      if (s.default !== undefined) expect(p.output()).toContain(`(default: ${s.default})`)
    }
  })

  it.each([
    [['--port', 'x'], {}, '--port'],
    [['--ttl', '0'], {}, '--ttl'],
    [['--nope'], {}, '--nope'],
    [[], { TALLY_LOG_LEVEL: 'chatty' }, 'TALLY_LOG_LEVEL'],
  ])('bad setting %j %j → exit 2 naming it', async (args, env, name) => {
    const p = run(args, env)
    expect(await p.exited).toBe(2)
    expect(p.output()).toContain(name)
  })

  it('serves, reads env, and exits 0 on SIGTERM', async () => {
    const p = run(['--log-level', 'info'], { TALLY_PORT: '0', TALLY_TOKEN: 'env-token-123' })
    const base = `http://127.0.0.1:${await listeningPort(p)}`
    expect((await http(`${base}/health`)).status).toBe(200)
    const reg = { id: 'a', addr: '127.0.0.1:9000', http: 'http://127.0.0.1:8010' }
    expect((await http(`${base}/register`, 'POST', reg)).status).toBe(401)
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
  })

  it('exits 1 when the port is taken', async () => {
    const first = run(['--port', '0', '--log-level', 'info'])
    const port = await listeningPort(first)
    const second = run(['--port', String(port)])
    expect(await second.exited).toBe(1)
    await stopProc(first)
  })
})
