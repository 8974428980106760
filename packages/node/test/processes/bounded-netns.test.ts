// Bounded counters under a real network partition: three tally-node
// processes, each in its own network namespace, stock 300 (100 per node),
// then 600 concurrent decrements of 1 spread over all nodes while node 1 is
// cut from the other two by iptables DROP (a black hole) for a few seconds.
// No read is ever negative, at most 300 succeed, at least 250 succeed, and
// after the heal every node holds 300 − successes.
// Runs only as root with `ip netns` and iptables (see the skip reason).

import { NODE_BIN, requireBuilt } from '@tally/kit/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { netnsUnavailable, startNetnsCluster } from '../support/netns-cluster.mjs'

const unavailable = netnsUnavailable()
const N = 3
const PARTITION_MS = 4_000

type Cluster = Awaited<ReturnType<typeof startNetnsCluster>>
let cluster: Cluster | undefined
afterAll(async () => {
  await cluster?.stop()
})

describe.skipIf(unavailable !== null)(
  `bounded counters across network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('600 decrements of a stock of 300 during a partition: never negative, 250–300 succeed, all converge', async () => {
      requireBuilt(NODE_BIN)
      cluster = await startNetnsCluster({ n: N, args: ['--cluster-key', 'netns-bounded-key'] })
      const c = cluster
      const all = [...Array(N).keys()]
      const value = async (i: number): Promise<number | undefined> =>
        ((await c.request(i, 'GET', '/bounded/stock')).body as { value?: number } | null)?.value
      const poll = async (check: () => Promise<boolean>, ms: number, what: string): Promise<void> => {
        const t0 = Date.now()
        while (!(await check().catch(() => false))) {
          if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
          await new Promise((r) => setTimeout(r, 25))
        }
      }
      const liveCount = async (i: number): Promise<number> => {
        const r = await c.request(i, 'GET', '/peers')
        return (r.body as { peers: Array<{ state: string }> }).peers.filter((p) => p.state === 'live').length
      }
      await poll(
        async () => (await Promise.all(all.map(liveCount))).every((n) => n === N - 1),
        20_000,
        'a full live cluster',
      )
      for (const i of all) {
        const r = await c.request(i, 'POST', '/bounded/stock/increment', { amount: 100 })
        expect(r.status).toBe(200)
      }
      await poll(
        async () => (await Promise.all(all.map(value))).every((v) => v === 300),
        20_000,
        'stock 300 everywhere',
      )

      let running = true
      const seen: number[] = []
      const polls = all.map(async (i) => {
        while (running) {
          const v = await value(i).catch(() => undefined)
          if (v !== undefined) seen.push(v)
          await new Promise((r) => setTimeout(r, 10))
        }
      })
      c.cut([0], [1, 2])
      const healAt = setTimeout(() => c.heal(), PARTITION_MS)
      const statuses = await Promise.all(
        Array.from({ length: 600 }, (_, k) =>
          c
            .request(k % N, 'POST', '/bounded/stock/decrement', { amount: 1 }, {}, 30_000)
            .then((r) => r.status),
        ),
      )
      // Heal now if the run ended before the timer (iptables rules are cut idempotently).
      clearTimeout(healAt)
      c.heal()
      const ok = statuses.filter((s) => s === 200).length
      expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([])
      expect(ok).toBeLessThanOrEqual(300)
      expect(ok).toBeGreaterThanOrEqual(250)
      await poll(
        async () => (await Promise.all(all.map(value))).every((v) => v === 300 - ok),
        20_000,
        `every node at ${300 - ok}`,
      )
      running = false
      await Promise.all(polls)
      expect(seen.length).toBeGreaterThan(0)
      expect(Math.min(...seen)).toBeGreaterThanOrEqual(0)
    }, 90_000)
  },
)
