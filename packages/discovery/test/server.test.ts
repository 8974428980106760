import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SETTINGS } from '../src/config.js'
import { freePort, http, type Proc, requireBuilt, startProc, stopProc, until } from './helpers/procs.js'

// The built bin: flags, exit codes and signals as an operator sees them.
const BIN = fileURLToPath(new URL('../dist/server.js', import.meta.url))
const procs: Proc[] = []

beforeAll(() => requireBuilt(BIN))
afterAll(async () => {
  await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')))
})

function run(args: string[], env: Record<string, string> = {}): Proc {
  const p = startProc('discovery', BIN, args, env)
  procs.push(p)
  return p
}

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
    const port = await freePort()
    const p = run(['--log-level', 'warn'], { TALLY_PORT: String(port), TALLY_TOKEN: 'env-token-123' })
    const base = `http://127.0.0.1:${port}`
    await until(async () => (await http(`${base}/health`)).status === 200, 'listening')
    const reg = { id: 'a', addr: '127.0.0.1:9000', http: 'http://127.0.0.1:8010' }
    expect((await http(`${base}/register`, { method: 'POST', body: reg })).status).toBe(401)
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
  })

  it('exits 1 when the port is taken', async () => {
    const port = await freePort()
    const first = run(['--port', String(port)])
    await until(async () => (await http(`http://127.0.0.1:${port}/health`)).status === 200, 'first listening')
    const second = run(['--port', String(port)])
    expect(await second.exited).toBe(1)
    await stopProc(first)
  })
})
