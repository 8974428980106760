// Seeded random runs of whole nodes over the memory transport: writes
// everywhere, message loss and duplication, partitions that come and go,
// nodes that restart with or without their data. At the end, with the
// network healed, every node must hold exactly the sum of acknowledged writes.

import { prng, until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { partitionAtRandom, type SimNode, startSim } from '../support/sim.js'

let live: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(live.map((n) => n.node.stop()))
  live = []
})

async function run(seed: number): Promise<void> {
  const rand = prng(seed)
  const int = (n: number) => Math.floor(rand() * n)
  const net = new MemoryNetwork(seed)
  net.dropRate = 0.1
  net.dupRate = 0.1
  const ids = ['s1', 's2', 's3', 's4', 's5']
  live = []
  for (const id of ids) live.push(await startSim(net, id, id === 's1' ? [] : ['s1:1']))
  const expected = new Map<string, number>()
  for (let step = 0; step < 60; step++) {
    const r = int(20)
    if (r === 0) {
      partitionAtRandom(net, ids, rand)
    } else if (r === 1) {
      net.heal()
    } else if (r === 2) {
      // Restart a node, with its data (same replica) or wiped (new replica; its acked writes live on peers).
      const i = int(live.length)
      const victim = live[i] as SimNode
      // Losing a disk loses what was on it alone: wipe only a node whose every
      // write some other node already holds (its summary covers our seq).
      const replica = victim.node.identity.replicaId
      const safe = live.some(
        (o) => o !== victim && (o.node.map.summary()[replica] ?? 0) >= victim.node.map.seq,
      )
      const wipe = safe && rand() < 0.3
      await victim.node.stop()
      if (wipe) victim.store.wipe()
      live[i] = await startSim(net, victim.id, ['s1:1', 's2:1'], {}, victim.store)
    } else {
      const n = live[int(live.length)] as SimNode
      const name = `k${int(3)}`
      const amount = 1 + int(50)
      const op = rand() < 0.7 ? 'increment' : 'decrement'
      await n.node.mutate({ name, op, amount })
      expected.set(name, (expected.get(name) ?? 0) + (op === 'increment' ? amount : -amount))
    }
    await new Promise((res) => setTimeout(res, int(30)))
  }
  net.heal()
  net.dropRate = 0
  net.dupRate = 0
  const ok = () => live.every((n) => [...expected].every(([k, v]) => n.node.map.value(k) === v))
  await until(ok, { what: `convergence (seed ${seed})`, timeoutMs: 20_000 })
  expect(new Set(live.map((n) => n.node.map.digest())).size).toBe(1)
}

describe('random simulation', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: exact totals after loss, duplication, partitions and restarts`, async () => {
      await run(seed)
    })
  }
})
