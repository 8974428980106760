// A delete concurrent with increments on the far side of a real partition:
// three tally-node processes, each in its own network namespace, split
// {n1,n2} | {n3} by iptables DROP. n3 keeps counting while n1 deletes; after
// the heal every node holds exactly what n1's delete had not seen. Then a TTL
// set on n2 expires the counter on every node.
// Runs only as root with `ip netns` and iptables (see the skip reason).

import { NODE_BIN, requireBuilt } from '@tally/kit/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { type NetnsCluster, netnsUnavailable, startNetnsCluster } from '../support/netns-cluster.mjs'

const unavailable = netnsUnavailable()
const N = 3

let cluster: NetnsCluster | undefined
afterAll(async () => {
  await cluster?.stop()
})

describe.skipIf(unavailable !== null)(
  `delete and TTL across network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('increments unseen by a delete survive it; a TTL expires the counter on every node', async () => {
      requireBuilt(NODE_BIN)
      cluster = await startNetnsCluster({ n: N })
      const c = cluster
      const all = [...Array(N).keys()]
      const counter = async (i: number) =>
        (await c.request(i, 'GET', '/counters/d')).body as { value?: number; ttlMs?: number } | null
      const poll = async (check: () => Promise<boolean>, ms: number, what: string): Promise<void> => {
        const t0 = Date.now()
        while (!(await check().catch(() => false))) {
          if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      const everyNode = (pred: (x: { value?: number; ttlMs?: number } | null) => boolean) => async () =>
        (await Promise.all(all.map(counter))).every(pred)
      const inc = async (i: number, amount: number) => {
        const r = await c.request(i, 'POST', '/counters/d/increment', { amount })
        expect(r.status).toBe(200)
      }
      const liveCount = async (i: number): Promise<number> => {
        const r = await c.request(i, 'GET', '/peers')
        return (r.body as { peers: Array<{ state: string }> }).peers.filter((p) => p.state === 'live').length
      }
      await poll(
        async () => (await Promise.all(all.map(liveCount))).every((n) => n === N - 1),
        20_000,
        'a live cluster',
      )

      for (const i of all) await inc(i, 10)
      await poll(
        everyNode((x) => x?.value === 30),
        20_000,
        '30 on every node',
      )

      c.cut([0, 1], [2])
      await inc(2, 4)
      await inc(2, 1)
      const del = await c.request(0, 'DELETE', '/counters/d')
      expect(del.body).toEqual({ name: 'd', deleted: true, value: 0 })
      await poll(async () => (await counter(1))?.value === 0, 20_000, 'the delete on n2')
      expect((await counter(2))?.value).toBe(35) // n3 has not heard of it

      c.heal()
      // The delete had seen 10 + 10 + 10; n3's later 5 survive it everywhere.
      await poll(
        everyNode((x) => x?.value === 5),
        30_000,
        '5 on every node after the heal',
      )

      const ttl = await c.request(1, 'PUT', '/counters/d/ttl', { ttlMs: 1500 })
      expect(ttl.status).toBe(200)
      await poll(
        everyNode((x) => x?.value === 0 && x.ttlMs === undefined),
        30_000,
        'the expiry on every node',
      )
      const list = (await c.request(2, 'GET', '/counters')).body as { counters: Array<{ name: string }> }
      expect(list.counters.map((x) => x.name)).not.toContain('d')
    }, 120_000)
  },
)
