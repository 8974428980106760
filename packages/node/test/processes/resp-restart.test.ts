// A real tally-node process with --resp-port: ioredis reconnects across a
// restart (SIGKILL included) and every acknowledged INCR is still there.

import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { type Proc, requireBuild, spawnOnLoopback, stopAll, tempDir } from '../support/procs.js'

/**
 * Starts a node whose RESP port is a random high port: `--resp-port 0` means
 * "off", so there is no OS-chosen port to read back. A port someone else
 * holds fails the start with EADDRINUSE; then another port is tried. The
 * port is never bound by the test itself (no bind-release-reuse race).
 */
async function startWithResp(id: string, dataDir: string, port?: number): Promise<Proc & { resp: number }> {
  for (let i = 0; i < 20; i++) {
    const want = port ?? 20_000 + Math.floor(Math.random() * 40_000)
    const p = await spawnOnLoopback(id, dataDir, ['--resp-port', String(want), '--durability', 'sync'])
    if (p.url !== '') return { ...p, resp: want }
    if (port !== undefined || !p.stderr.join('').includes('EADDRINUSE'))
      throw new Error(`${id} did not start: ${p.stderr.join('')}`)
  }
  throw new Error('no free RESP port found in 20 tries')
}

const procs: Proc[] = []
const dirs: Array<() => void> = []
afterEach(async () => {
  await stopAll(procs.splice(0))
  for (const d of dirs.splice(0)) d()
})

describe('RESP across restarts', () => {
  it('ioredis reconnects after SIGKILL and a restart; acknowledged INCRs survive', async () => {
    requireBuild()
    const t = tempDir()
    dirs.push(t.cleanup)
    const dataDir = join(t.dir, 'r1')
    const first = await startWithResp('r1', dataDir)
    procs.push(first)
    const r = new Redis({
      port: first.resp,
      host: '127.0.0.1',
      retryStrategy: () => 50,
      maxRetriesPerRequest: 50,
    })
    r.on('error', () => {})
    try {
      for (let i = 1; i <= 20; i++) expect(await r.incr('survivor')).toBe(i)
      const exited = new Promise((resolve) => first.child.once('exit', resolve))
      first.child.kill('SIGKILL')
      await exited
      const second = await startWithResp('r1', dataDir, first.resp)
      procs.push(second)
      // The client's queued command goes out on its new connection.
      expect(await r.incr('survivor')).toBe(21)
      expect(await r.get('survivor')).toBe('21')
    } finally {
      r.disconnect()
    }
  })
})
