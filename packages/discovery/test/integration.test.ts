import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Cleanup,
  http,
  NODE_BIN,
  type Proc,
  portOf,
  requireBuilt,
  spawnProc,
  startTallyNode,
  stopProc,
  type TallyNodeProc,
  tempDir,
  until,
  waitForLine,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Multi-process: the built bins of discovery and node, on loopback free ports.
const DISCOVERY_BIN = fileURLToPath(new URL('../dist/tally-discovery.js', import.meta.url))
const HEARTBEAT = 500
// Long TTL: a node that vanishes quickly can only have been deregistered, not expired.
const TTL = 20_000

type NodeProc = TallyNodeProc

const procs: Proc[] = []
const cleanup = new Cleanup()
let dataRoot = ''
let discoveryPort = 0
let discoveryUrl = ''
let discovery: Proc

/** Starts discovery on `discoveryPort` (0 the first time: the OS picks it, read back from its log). */
async function startDiscovery(): Promise<Proc> {
  const p = spawnProc(cleanup, 'discovery', DISCOVERY_BIN, [
    ...['--port', String(discoveryPort), '--ttl', String(TTL), '--log-level', 'info'],
  ])
  procs.push(p)
  discoveryPort = await waitForLine(p, (r) =>
    r.msg === 'discovery listening' && typeof r.address === 'string' ? portOf(r.address) : undefined,
  )
  discoveryUrl = `http://127.0.0.1:${discoveryPort}`
  return p
}

async function startNode(k: number): Promise<NodeProc> {
  const id = `n${k}`
  const p = await startTallyNode(cleanup, id, join(dataRoot, id), [
    ...['--discovery', discoveryUrl, '--heartbeat-interval', String(HEARTBEAT)],
    ...['--gossip-interval', '100', '--durability', 'async'],
  ])
  procs.push(p)
  await waitHealthy(p, 15_000)
  return p
}

async function registeredIds(): Promise<string[]> {
  const res = await http<Array<{ id: string }>>(`${discoveryUrl}/peers`)
  return res.body.map((p) => p.id)
}

async function knownPeers(n: NodeProc): Promise<string[]> {
  const res = await http<{ peers: Array<{ id: string }> }>(`${n.url}/peers`)
  return res.body.peers.map((p) => p.id).sort()
}

async function value(n: NodeProc): Promise<number> {
  return (await http<{ value: number }>(`${n.url}/counter`)).body.value
}

const nodes: NodeProc[] = []
const dump = () => procs.map((p) => `--- ${p.name} (pid ${p.pid})\n${p.output().slice(-3000)}`).join('\n')

describe('discovery with real tally-node processes', () => {
  beforeAll(async () => {
    requireBuilt(DISCOVERY_BIN)
    requireBuilt(NODE_BIN)
    dataRoot = await tempDir(cleanup, 'tally-discovery-it-')
    discovery = await startDiscovery()
    await until(async () => (await http(`${discoveryUrl}/health`)).status === 200, {
      what: 'discovery up',
      timeoutMs: 15_000,
    })
    for (const k of [1, 2, 3]) nodes.push(await startNode(k))
  })

  afterAll(() => cleanup.run())

  it('three nodes register and learn each other through discovery alone', async () => {
    await until(async () => (await registeredIds()).join() === 'n1,n2,n3', {
      what: 'all registered',
      timeoutMs: 15_000,
    }).catch((e) => {
      throw new Error(`${e}\n${dump()}`)
    })
    for (const n of nodes) {
      const others = ['n1', 'n2', 'n3'].filter((x) => x !== n.id).join()
      await until(async () => (await knownPeers(n)).join() === others, {
        what: `${n.id} knows the others`,
        timeoutMs: 15_000,
      })
    }
  })

  it('a fourth node is learned by everyone and converges', async () => {
    const n4 = await startNode(4)
    nodes.push(n4)
    for (const n of nodes) {
      await until(async () => (await knownPeers(n)).length === 3, {
        what: `${n.id} knows 3 peers`,
        timeoutMs: 15_000,
      })
    }
    expect((await http(`${n4.url}/increment`, 'POST', { amount: 5 })).status).toBe(200)
    expect((await http(`${nodes[0]!.url}/increment`, 'POST', { amount: 2 })).status).toBe(200)
    for (const n of nodes)
      await until(async () => (await value(n)) === 7, { what: `${n.id} converges to 7`, timeoutMs: 15_000 })
  })

  it('with discovery down, increments still replicate', async () => {
    await stopProc(discovery, 'SIGKILL')
    expect((await http(`${nodes[1]!.url}/increment`, 'POST', { amount: 10 })).status).toBe(200)
    for (const n of nodes)
      await until(async () => (await value(n)) === 17, { what: `${n.id} converges to 17`, timeoutMs: 15_000 })
  })

  it('a restarted discovery is whole again within about one heartbeat interval', async () => {
    const t0 = Date.now()
    discovery = await startDiscovery()
    await until(async () => (await http(`${discoveryUrl}/health`)).status === 200, {
      what: 'discovery back',
      timeoutMs: 15_000,
    })
    const up = Date.now()
    await until(async () => (await registeredIds()).join() === 'n1,n2,n3,n4', {
      what: 'table rebuilt',
      timeoutMs: 15_000,
    })
    const rebuilt = Date.now() - up
    console.info(`discovery table rebuilt ${rebuilt} ms after it answered (heartbeat ${HEARTBEAT} ms)`)
    // Nominal bound: one heartbeat interval (500 ms) plus request time; generous for a loaded 2-core box.
    expect(rebuilt, `rebuilt in ${rebuilt} ms (process start ${up - t0} ms)`).toBeLessThan(HEARTBEAT * 4)
  })

  it('a node stopped with SIGTERM leaves the table at once', async () => {
    const n3 = nodes.find((n) => n.id === 'n3')!
    const t0 = Date.now()
    await stopProc(n3, 'SIGTERM')
    await until(async () => !(await registeredIds()).includes('n3'), {
      what: 'n3 deregistered',
      timeoutMs: 5000,
    })
    console.info(`SIGTERM to gone from /peers: ${Date.now() - t0} ms (ttl ${TTL} ms)`)
    // Far below the TTL: the node said goodbye.
    expect(Date.now() - t0).toBeLessThan(TTL / 4)
  })
})
