// Real tally-node processes on loopback (free ports). Needs the built bin: run npm run build.

import { join } from 'node:path'
import {
  Cleanup,
  http,
  NODE_BIN,
  type TallyNodeProc as Proc,
  requireBuilt,
  startTallyNode,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const procs: Proc[] = []
const cleanup = new Cleanup()
let root = ''
const spawnNode = (id: string, extra: string[] = []) => startTallyNode(cleanup, id, join(root, id), extra)

beforeAll(async () => {
  requireBuilt(NODE_BIN)
  root = await tempDir(cleanup, 'tally-node-test-')
})
afterAll(() => cleanup.run())

describe('tally-node processes', () => {
  it('5 nodes: increments spread over all of them reach the exact total everywhere', async () => {
    const first = await spawnNode('p1')
    procs.push(first)
    for (let i = 2; i <= 5; i++) procs.push(await spawnNode(`p${i}`, ['--peers', `127.0.0.1:${first.tcp}`]))
    await Promise.all(procs.map((p) => waitHealthy(p)))
    await until(
      async () => {
        const h = await Promise.all(procs.map((p) => http(`${p.url}/health`)))
        return h.every((r) => (r.body as { peers: { live: number } }).peers.live === 4)
      },
      { what: 'every node to see 4 live peers', timeoutMs: 20_000 },
    )
    // HTTP URLs travel in MEMBERS: every node learns every peer's.
    await until(
      async () => {
        const r = await http(`${procs[4]!.url}/peers`)
        const peers = (r.body as { peers: Array<{ id: string; http?: string }> }).peers
        return peers.length === 4 && peers.every((p) => p.http === procs.find((x) => x.id === p.id)?.url)
      },
      { what: 'peer HTTP URLs', timeoutMs: 20_000 },
    )
    let total = 0
    const writes: Promise<unknown>[] = []
    for (let k = 0; k < 200; k++) {
      const p = procs[k % procs.length] as Proc
      const amount = (k % 7) + 1
      const op = k % 5 === 0 ? 'decrement' : 'increment'
      total += op === 'increment' ? amount : -amount
      writes.push(
        http(`${p.url}/counters/total/${op}`, 'POST', { amount }).then((r) => {
          if (r.status !== 200) throw new Error(`write failed: ${JSON.stringify(r.body)}`)
        }),
      )
      if (writes.length >= 20) await Promise.all(writes.splice(0))
    }
    await Promise.all(writes)
    await until(
      async () => {
        const v = await Promise.all(procs.map((p) => http(`${p.url}/counters/total`)))
        return v.every((r) => (r.body as { value: number }).value === total)
      },
      { what: `every node at ${total}`, timeoutMs: 20_000 },
    )
  })

  it('a quorum write to a 5-node cluster is acknowledged', async () => {
    const r = await http(`${procs[0]!.url}/counters/q/increment?consistency=quorum`, 'POST', { amount: 2 })
    expect(r).toEqual({ status: 200, body: { name: 'q', value: 2 } })
  })

  it('SIGTERM stops a node cleanly (exit 0) and peers see it leave', async () => {
    const last = procs.pop() as Proc
    const code = new Promise<number | null>((r) => last.child.once('exit', (c) => r(c)))
    last.child.kill('SIGTERM')
    expect(await code).toBe(0)
    await until(
      async () => {
        const r = await http(`${procs[0]!.url}/peers`)
        const peers = (r.body as { peers: Array<{ id: string; state: string }> }).peers
        return peers.find((p) => p.id === last.id)?.state === 'dead'
      },
      { what: 'peer marked dead after LEAVE', timeoutMs: 10_000 },
    )
  })

  it('a bad setting exits 2 naming it', async () => {
    const p = await spawnNode('bad', ['--fanout', 'lots'])
    // spawnNode resolves when the process exits before listening.
    expect(p.child.exitCode).toBe(2)
    expect(p.output()).toContain('--fanout')
  })
})
