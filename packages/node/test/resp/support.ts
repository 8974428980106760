// An in-process node with its RESP listener on 127.0.0.1:0, for the RESP tests.
import type { RespListener } from '@tally/kit/resp'
import type { TallyNode } from '../../src/node.js'
import { createNodeResp } from '../../src/resp/resp-server.js'
import type { MemoryStore } from '../../src/storage/memory-store.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { silent, startSim } from '../support/sim.js'

export interface RespFixture {
  node: TallyNode
  resp: RespListener
  port: number
  stop: () => Promise<void>
}

/** Starts a node on a memory network (over `store`, if given) and its RESP listener; `stop()` closes both. */
export async function startRespNode(
  opts: { password?: string; idleTimeoutMs?: number; partialTimeoutMs?: number } = {},
  id = 'resp',
  store?: MemoryStore,
): Promise<RespFixture> {
  const { node } = await startSim(new MemoryNetwork(), id, [], {}, store)
  const resp = createNodeResp({ node, host: '127.0.0.1', port: 0, logger: silent, ...opts })
  const { port } = await resp.listen()
  return {
    node,
    resp,
    port,
    stop: async () => {
      await resp.close()
      await node.stop()
    },
  }
}
