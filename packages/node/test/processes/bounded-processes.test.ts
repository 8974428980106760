// Bounded counters on real tally-node processes (loopback, free ports): the
// 300/600 scenario with one node paused (SIGSTOP/SIGCONT by pid) in the
// middle, and durability across kill -9. Needs the built bin: npm run build.

import { join } from 'node:path'
import {
  Cleanup,
  http,
  NODE_BIN,
  type TallyNodeProc as Proc,
  requireBuilt,
  sleepMs,
  startTallyNode,
  stopProc,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
let root = ''
const spawnNode = (id: string, extra: string[] = []) => startTallyNode(cleanup, id, join(root, id), extra)

beforeAll(async () => {
  requireBuilt(NODE_BIN)
  root = await tempDir(cleanup, 'tally-bounded-test-')
})
afterAll(() => cleanup.run())

interface View {
  name: string
  value: number
  rights: Record<string, number>
}

const read = async (p: Proc, name: string): Promise<View> => {
  const r = await http<View>(`${p.url}/bounded/${name}`, 'GET', undefined, {}, 30_000)
  if (r.status !== 200) throw new Error(`GET on ${p.id}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

async function startCluster(ids: string[]): Promise<Proc[]> {
  const first = await spawnNode(ids[0]!, ['--gossip-interval', '100'])
  const rest: Proc[] = []
  for (const id of ids.slice(1))
    rest.push(await spawnNode(id, ['--gossip-interval', '100', '--peers', `127.0.0.1:${first.tcp}`]))
  const all = [first, ...rest]
  await Promise.all(all.map((p) => waitHealthy(p)))
  await until(
    async () => {
      const h = await Promise.all(all.map((p) => http(`${p.url}/health`)))
      return h.every((r) => (r.body as { peers: { live: number } }).peers.live === all.length - 1)
    },
    { what: 'every node to see its peers live', timeoutMs: 20_000 },
  )
  return all
}

describe('bounded counters on tally-node processes', () => {
  it('stock 300 on three nodes, 600 concurrent decrements while one node is paused: never negative, 250–300 succeed, all end at 300 − successes', async () => {
    const nodes = await startCluster(['b1', 'b2', 'b3'])
    for (const p of nodes) {
      const r = await http(`${p.url}/bounded/stock/increment`, 'POST', { amount: 100 })
      expect(r.status).toBe(200)
    }
    await until(
      async () => (await Promise.all(nodes.map((p) => read(p, 'stock')))).every((v) => v.value === 300),
      {
        what: 'stock 300 on every node',
        timeoutMs: 20_000,
      },
    )

    // Reads polled on every node throughout the run, each node on its own loop.
    let running = true
    const seen: number[] = []
    const polls = nodes.map(async (p) => {
      while (running) {
        seen.push((await read(p, 'stock')).value)
        await sleepMs(10)
      }
    })
    const paused = nodes[2]!
    const statuses: number[] = []
    const writes: Promise<void>[] = []
    for (let i = 0; i < 600; i++) {
      const p = nodes[i % 3]!
      writes.push(
        http<{ error?: { code: string } }>(
          `${p.url}/bounded/stock/decrement`,
          'POST',
          { amount: 1 },
          {},
          60_000,
        ).then((r) => {
          statuses.push(r.status)
          if (r.status === 409) expect(r.body.error?.code).toBe('TALLY_BOUND_EXCEEDED')
        }),
      )
      if (i === 150) {
        process.kill(paused.pid, 'SIGSTOP')
        setTimeout(() => process.kill(paused.pid, 'SIGCONT'), 3000)
      }
    }
    await Promise.all(writes)
    running = false
    await Promise.all(polls)
    const ok = statuses.filter((s) => s === 200).length
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([])
    expect(seen.length).toBeGreaterThan(0)
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(0)
    expect(ok).toBeLessThanOrEqual(300)
    expect(ok).toBeGreaterThanOrEqual(250)
    await until(
      async () => (await Promise.all(nodes.map((p) => read(p, 'stock')))).every((v) => v.value === 300 - ok),
      { what: `every node at 300 − ${ok}`, timeoutMs: 20_000 },
    )
    for (const p of nodes) await stopProc(p)
  }, 120_000)

  it('acknowledged bounded writes, rights and keys survive kill -9', async () => {
    const p = await spawnNode('d1')
    await waitHealthy(p)
    expect((await http(`${p.url}/bounded/seats/increment`, 'POST', { amount: 50 })).status).toBe(200)
    const keyed = await http(
      `${p.url}/bounded/seats/decrement`,
      'POST',
      { amount: 20 },
      { 'idempotency-key': 'k-1' },
    )
    expect(keyed.body).toEqual({ name: 'seats', value: 30 })
    await stopProc(p, 'SIGKILL')
    const again = await spawnNode('d1')
    const health = await waitHealthy(again)
    const view = await read(again, 'seats')
    expect(view.value).toBe(30)
    expect(view.rights).toEqual({ [health.replica]: 30 })
    // The key's first answer stands after the restart, and it changes nothing.
    const repeat = await http(
      `${again.url}/bounded/seats/decrement`,
      'POST',
      { amount: 20 },
      { 'idempotency-key': 'k-1' },
    )
    expect(repeat.body).toEqual({ name: 'seats', value: 30 })
    expect((await http(`${again.url}/bounded/seats/decrement`, 'POST', { amount: 30 })).body).toEqual({
      name: 'seats',
      value: 0,
    })
    await stopProc(again)
  }, 60_000)
})
