// DNS discovery end to end, all on loopback: a DNS server (test/support)
// answers one name with 127.0.0.21-23; real tally-node processes bound to
// those addresses on one shared gossip port and one shared HTTP port find each
// other through it (--dns-server), a node added to the answer joins and
// catches up, a node removed from it is forgotten, and an in-process gateway
// finds the nodes the same way. Garbage answers change nothing.
//
// The shared ports: the test binds 127.0.0.20:0 twice and keeps both sockets
// for its whole run, so no other process can take those ports on the
// wildcard address; the nodes bind the same port numbers on .21-.23.

import { type AddressInfo, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../packages/gateway/src/app.ts'
import {
  Cleanup,
  http,
  NODE_BIN,
  requireBuilt,
  spawnProc,
  stopProc,
  type TallyNodeProc,
  tempDir,
  until as untilTrue,
  waitForLine,
  waitHealthy,
} from '../packages/kit/src/testing/index.ts'
import { startDnsServer, type TestDnsServer } from './support/dns-server.ts'

const NAME = 'tally-nodes.test'
const IPS = ['127.0.0.21', '127.0.0.22', '127.0.0.23'] as const
const INTERVAL_MS = 200

let dns: TestDnsServer
let holders: Server[] = []
let gossipPort = 0
let httpPort = 0
const cleanup = new Cleanup()
let dataDir = ''
let gateway: FastifyInstance | undefined

async function hold(): Promise<Server> {
  const s = createServer()
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject)
    s.listen(0, '127.0.0.20', () => resolve())
  })
  return s
}

async function startNode(id: string, ip: string): Promise<TallyNodeProc> {
  const dir = join(dataDir, id)
  const p = spawnProc(cleanup, id, NODE_BIN, [
    ...['--id', id, '--data-dir', dir, '--log-level', 'info', '--host', ip],
    ...['--tcp-port', String(gossipPort), '--http-port', String(httpPort)],
    ...['--discovery', `dns:${NAME}:${gossipPort}`, '--dns-server', dns.address],
    ...['--dns-interval', String(INTERVAL_MS), '--resp-port', '0'],
  ])
  const url = await waitForLine(p, (r) =>
    r.msg === 'listening' && typeof r.http === 'string' ? r.http : undefined,
  )
  const node: TallyNodeProc = { ...p, id, dataDir: dir, tcp: gossipPort, http: httpPort, url, resp: 0 }
  await waitHealthy(node)
  return node
}

/** Waits until `check` holds (kit's until), naming `what` on timeout. */
function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<true> {
  return untilTrue(async () => (await check()) || undefined, { what, timeoutMs, intervalMs: 50 })
}

async function peers(p: TallyNodeProc): Promise<Array<{ id: string; addr: string; state: string }>> {
  return (
    (await http(`${p.url}/peers`)).body as { peers: Array<{ id: string; addr: string; state: string }> }
  ).peers
}
async function value(p: TallyNodeProc): Promise<number> {
  return ((await http(`${p.url}/counter`)).body as { value: number }).value
}
const liveIds = async (p: TallyNodeProc) =>
  (await peers(p))
    .filter((x) => x.state === 'live')
    .map((x) => x.id)
    .sort()
const gatewayNodes = () =>
  (gateway?.gateway.registry.list() ?? []).map((e) => `${e.id ?? '?'}@${e.key}`).sort()

beforeAll(async () => {
  requireBuilt(NODE_BIN)
  dataDir = await tempDir(cleanup, 'tally-dns-')
  dns = await startDnsServer()
  const gossipHolder = await hold()
  const httpHolder = await hold()
  holders = [gossipHolder, httpHolder]
  gossipPort = (gossipHolder.address() as AddressInfo).port
  httpPort = (httpHolder.address() as AddressInfo).port
})

afterAll(async () => {
  await gateway?.close()
  await cleanup.run()
  await dns?.close()
  await Promise.all(holders.map((s) => new Promise((r) => s.close(r))))
})

describe('DNS discovery (loopback DNS server, real nodes)', () => {
  it('nodes and the gateway follow the name: join, catch up, forget, and ignore garbage answers', async () => {
    dns.set(NAME, { a: [IPS[0], IPS[1]] })
    const n1 = await startNode('n1', IPS[0])
    const n2 = await startNode('n2', IPS[1])
    await until('n1 and n2 see each other live', async () => {
      return (await liveIds(n1)).join() === 'n2' && (await liveIds(n2)).join() === 'n1'
    })
    expect((await http(`${n1.url}/increment`, 'POST', { amount: 5 })).status).toBe(200)
    await until('n2 has the increment', async () => (await value(n2)) === 5)

    gateway = await buildApp({
      nodes: [],
      discovery: [],
      dns: {
        target: { kind: 'a', name: NAME, port: httpPort },
        intervalMs: INTERVAL_MS,
        server: dns.address,
      },
      strategy: 'round-robin',
      requestTimeoutMs: 1000,
      healthIntervalMs: 100,
      discoveryIntervalMs: 100,
      maxAttempts: 3,
      deadlineMs: 4000,
    })
    await gateway.ready()
    const origin = (ip: string) => `http://${ip}:${httpPort}`
    await until(
      'the gateway knows n1 and n2 by id',
      () => gatewayNodes().join() === [`n1@${origin(IPS[0])}`, `n2@${origin(IPS[1])}`].join(),
    )
    const inc = await gateway.inject({ method: 'POST', url: '/increment', payload: { amount: 2 } })
    expect(inc.statusCode).toBe(200)

    // A third node, added to the answer, joins everywhere and catches up.
    const n3 = await startNode('n3', IPS[2])
    dns.set(NAME, { a: [...IPS] })
    await until(
      'n3 joined n1 and n2',
      async () => (await liveIds(n1)).join() === 'n2,n3' && (await liveIds(n2)).join() === 'n1,n3',
    )
    await until('n3 caught up', async () => (await value(n3)) === 7)
    await until('the gateway knows n3', () => gatewayNodes().includes(`n3@${origin(IPS[2])}`))

    // n2 goes away and leaves the answer: forgotten by nodes and gateway.
    await stopProc(n2)
    dns.set(NAME, { a: [IPS[0], IPS[2]] })
    await until('n1 and n3 forgot n2', async () => {
      const a = (await peers(n1)).map((p) => p.id).join()
      const b = (await peers(n3)).map((p) => p.id).join()
      return a === 'n3' && b === 'n1'
    })
    await until(
      'the gateway forgot n2',
      () => gatewayNodes().join() === [`n1@${origin(IPS[0])}`, `n3@${origin(IPS[2])}`].join(),
    )

    // Garbage answers: every resolver keeps asking (queries arrive) and nothing changes.
    for (const mode of ['garbage', 'servfail'] as const) {
      dns.mode = mode
      const q0 = dns.queries
      await until(`the nodes and the gateway asked during ${mode}`, () => dns.queries >= q0 + 12)
      expect((await peers(n1)).map((p) => p.id)).toEqual(['n3'])
      expect((await peers(n3)).map((p) => p.id)).toEqual(['n1'])
      expect(gatewayNodes()).toEqual([`n1@${origin(IPS[0])}`, `n3@${origin(IPS[2])}`])
    }
    dns.mode = 'normal'
    const last = await gateway.inject({ method: 'POST', url: '/increment', payload: { amount: 1 } })
    expect(last.statusCode).toBe(200)
    await until('n1 and n3 converge on 8', async () => (await value(n1)) === 8 && (await value(n3)) === 8)
  }, 90_000)
})
