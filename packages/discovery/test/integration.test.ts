import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, http, type Proc, requireBuilt, startProc, stopProc, until } from './helpers/procs.js'

// Multi-process: the built bins of discovery and node, on loopback free ports.
const DISCOVERY_BIN = fileURLToPath(new URL('../dist/server.js', import.meta.url))
const NODE_BIN = fileURLToPath(new URL('../../node/dist/server.js', import.meta.url))
const HEARTBEAT = 500
// Long TTL: a node that vanishes quickly can only have been deregistered, not expired.
const TTL = 20_000

interface NodeProc extends Proc {
  id: string
  http: string
}

const procs: Proc[] = []
let dataRoot = ''
let discoveryPort = 0
let discoveryUrl = ''
let discovery: Proc

function startDiscovery(): Proc {
  const p = startProc('discovery', DISCOVERY_BIN, [
    '--port',
    String(discoveryPort),
    '--ttl',
    String(TTL),
    '--log-level',
    'warn',
  ])
  procs.push(p)
  return p
}

async function startNode(k: number): Promise<NodeProc> {
  const [tcp, httpPort] = [await freePort(), await freePort()]
  const id = `n${k}`
  const p = startProc(id, NODE_BIN, [
    '--id',
    id,
    '--host',
    '127.0.0.1',
    '--tcp-port',
    String(tcp),
    '--http-port',
    String(httpPort),
    '--resp-port',
    '0',
    '--data-dir',
    join(dataRoot, id),
    '--discovery',
    discoveryUrl,
    '--heartbeat-interval',
    String(HEARTBEAT),
    '--gossip-interval',
    '100',
    '--durability',
    'async',
    '--log-level',
    'warn',
  ])
  procs.push(p)
  const node = { ...p, id, http: `http://127.0.0.1:${httpPort}` }
  await until(async () => (await http(`${node.http}/health`)).status === 200, `${id} up`)
  return node
}

async function registeredIds(): Promise<string[]> {
  const res = await http<Array<{ id: string }>>(`${discoveryUrl}/peers`)
  return res.body.map((p) => p.id)
}

async function knownPeers(n: NodeProc): Promise<string[]> {
  const res = await http<{ peers: Array<{ id: string }> }>(`${n.http}/peers`)
  return res.body.peers.map((p) => p.id).sort()
}

async function value(n: NodeProc): Promise<number> {
  return (await http<{ value: number }>(`${n.http}/counter`)).body.value
}

const nodes: NodeProc[] = []
const dump = () => procs.map((p) => `--- ${p.name} (pid ${p.pid})\n${p.output().slice(-3000)}`).join('\n')

describe('discovery with real tally-node processes', () => {
  beforeAll(async () => {
    requireBuilt(DISCOVERY_BIN)
    requireBuilt(NODE_BIN)
    dataRoot = mkdtempSync(join(tmpdir(), 'tally-discovery-it-'))
    discoveryPort = await freePort()
    discoveryUrl = `http://127.0.0.1:${discoveryPort}`
    discovery = startDiscovery()
    await until(async () => (await http(`${discoveryUrl}/health`)).status === 200, 'discovery up')
    for (const k of [1, 2, 3]) nodes.push(await startNode(k))
  })

  afterAll(async () => {
    await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')))
    if (dataRoot !== '') rmSync(dataRoot, { recursive: true, force: true })
  })

  it('three nodes register and learn each other through discovery alone', async () => {
    await until(async () => (await registeredIds()).join() === 'n1,n2,n3', 'all registered').catch((e) => {
      throw new Error(`${e}\n${dump()}`)
    })
    for (const n of nodes) {
      const others = ['n1', 'n2', 'n3'].filter((x) => x !== n.id).join()
      await until(async () => (await knownPeers(n)).join() === others, `${n.id} knows the others`)
    }
  })

  it('a fourth node is learned by everyone and converges', async () => {
    const n4 = await startNode(4)
    nodes.push(n4)
    for (const n of nodes) {
      await until(async () => (await knownPeers(n)).length === 3, `${n.id} knows 3 peers`)
    }
    expect((await http(`${n4.http}/increment`, { method: 'POST', body: { amount: 5 } })).status).toBe(200)
    expect((await http(`${nodes[0]!.http}/increment`, { method: 'POST', body: { amount: 2 } })).status).toBe(
      200,
    )
    for (const n of nodes) await until(async () => (await value(n)) === 7, `${n.id} converges to 7`)
  })

  it('with discovery down, increments still replicate', async () => {
    await stopProc(discovery, 'SIGKILL')
    expect((await http(`${nodes[1]!.http}/increment`, { method: 'POST', body: { amount: 10 } })).status).toBe(
      200,
    )
    for (const n of nodes) await until(async () => (await value(n)) === 17, `${n.id} converges to 17`)
  })

  it('a restarted discovery is whole again within about one heartbeat interval', async () => {
    const t0 = Date.now()
    discovery = startDiscovery()
    await until(async () => (await http(`${discoveryUrl}/health`)).status === 200, 'discovery back')
    const up = Date.now()
    await until(async () => (await registeredIds()).join() === 'n1,n2,n3,n4', 'table rebuilt')
    const rebuilt = Date.now() - up
    console.info(`discovery table rebuilt ${rebuilt} ms after it answered (heartbeat ${HEARTBEAT} ms)`)
    // Nominal bound: one heartbeat interval (500 ms) plus request time; generous for a loaded 2-core box.
    expect(rebuilt, `rebuilt in ${rebuilt} ms (process start ${up - t0} ms)`).toBeLessThan(HEARTBEAT * 4)
  })

  it('a node stopped with SIGTERM leaves the table at once', async () => {
    const n3 = nodes.find((n) => n.id === 'n3')!
    const t0 = Date.now()
    await stopProc(n3, 'SIGTERM')
    await until(async () => !(await registeredIds()).includes('n3'), 'n3 deregistered', 5000)
    console.info(`SIGTERM to gone from /peers: ${Date.now() - t0} ms (ttl ${TTL} ms)`)
    // Far below the TTL: the node said goodbye.
    expect(Date.now() - t0).toBeLessThan(TTL / 4)
  })
})
