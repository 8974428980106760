// Whole nodes in this process over real TCP on 127.0.0.1:0, with a cluster key.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { TallyNode } from '../../src/node.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { TcpTransport } from '../../src/wire/tcp-transport.js'
import { silent } from '../support/sim.js'

const nodes: TallyNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

async function start(id: string, key: string, peers: string[]): Promise<TallyNode> {
  const transport = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    clusterKey: key,
    maxFrameBytes: 1 << 20,
    logger: silent,
  })
  const node = await TallyNode.start({
    id,
    store: new MemoryStore(),
    transport,
    logger: silent,
    peers,
    gossipIntervalMs: 50,
  })
  nodes.push(node)
  return node
}

describe('keyed cluster over TCP', () => {
  it('members with the key converge; a node with another key gets nothing in and puts nothing in', async () => {
    const a = await start('a', 'cluster-secret', [])
    const b = await start('b', 'cluster-secret', [a.membership.self.addr])
    const evil = await start('evil', 'other-secret', [a.membership.self.addr])
    await evil.mutate({ name: 'x', op: 'increment', amount: 1000 })
    await a.mutate({ name: 'x', op: 'increment', amount: 2 })
    await b.mutate({ name: 'x', op: 'increment', amount: 3 })
    await until(() => a.map.value('x') === 5 && b.map.value('x') === 5, {
      what: 'keyed convergence',
      timeoutMs: 10_000,
    })
    await until(() => a.transportStats().badFrames.auth > 0, {
      what: 'outsider frames refused',
      timeoutMs: 10_000,
    })
    expect(evil.map.value('x')).toBe(1000)
    expect(a.membership.list().map((p) => p.id)).toEqual(['b'])
    // The outsider keeps knocking: once two more of its frames were refused after convergence,
    // everything it sent before has been processed (in order on its connection).
    const refused = a.transportStats().badFrames.auth
    await until(() => a.transportStats().badFrames.auth >= refused + 2, {
      what: 'two more outsider frames refused',
    })
    expect(a.map.value('x')).toBe(5)
  })
})
