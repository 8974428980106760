// A real tally-node process with --resp-port: ioredis reconnects across a
// restart (SIGKILL included) and every acknowledged INCR is still there.

import { join } from 'node:path'
import {
  Cleanup,
  killProc,
  NODE_BIN,
  requireBuilt,
  startTallyNode,
  type TallyNodeProc,
  tempDir,
} from '@tally/kit/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

/**
 * Starts a node with RESP on: a port the system picks (`--resp-port any`,
 * read back from its `listening` line), or `port` again after a restart.
 */
async function startWithResp(id: string, dataDir: string, port?: number): Promise<TallyNodeProc> {
  const p = await startTallyNode(cleanup, id, dataDir, [
    '--resp-port',
    port === undefined ? 'any' : String(port),
    '--durability',
    'sync',
  ])
  if (p.url === '' || p.resp === 0) throw new Error(`${id} did not start with RESP on: ${p.output()}`)
  return p
}

describe('RESP across restarts', () => {
  it('ioredis reconnects after SIGKILL and a restart; acknowledged INCRs survive', async () => {
    requireBuilt(NODE_BIN)
    const dataDir = join(await tempDir(cleanup, 'tally-resp-'), 'r1')
    const first = await startWithResp('r1', dataDir)
    const r = new Redis({
      port: first.resp,
      host: '127.0.0.1',
      retryStrategy: () => 50,
      maxRetriesPerRequest: 50,
    })
    r.on('error', () => {})
    try {
      for (let i = 1; i <= 20; i++) expect(await r.incr('survivor')).toBe(i)
      await killProc(first)
      await startWithResp('r1', dataDir, first.resp)
      // The client's queued command goes out on its new connection.
      expect(await r.incr('survivor')).toBe(21)
      expect(await r.get('survivor')).toBe('21')
    } finally {
      r.disconnect()
    }
  })
})
