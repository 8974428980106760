// Exactly-once keyed writes across replicas, with whole nodes over the memory
// transport: a retry that reached another node is answered from the key
// records that node learnt, or, if it was applied there too, cancelled by
// that node once it learns the first application.

import { prng, until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { toHttp } from '../../src/http/error-status.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { allAt, gossipRoundsPass, partitionAtRandom, type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1']))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'membership',
    timeoutMs: 5000,
  })
  return out
}

const compensations = (c: SimNode[]) => c.reduce((s, n) => s + n.node.keyStats.compensations, 0)

describe('cross-replica idempotency', () => {
  it('a write durable on A but never answered, retried on B, counts once after A returns', async () => {
    const net = new MemoryNetwork(41)
    const [a, b, c] = await cluster(net, 3)
    // A's reply and eager push are lost: A is cut off, applies durably, then dies.
    net.partition(['n1:1'], ['n2:1', 'n3:1'])
    await a!.node.mutate({ name: 'orders', op: 'increment', amount: 5, key: 'K', attempt: 1 })
    await a!.node.stop()
    nodes = nodes.filter((n) => n !== a)
    // The gateway retries on B (second attempt): B does not know K and applies it.
    await b!.node.mutate({ name: 'orders', op: 'increment', amount: 5, key: 'K', attempt: 2 })
    await until(() => c!.node.map.value('orders') === 5, { what: 'B write replicated', timeoutMs: 5000 })
    // A restarts with its data; the cluster heals.
    net.heal()
    const back = await startSim(net, 'n1', ['n2:1'], {}, a!.store)
    nodes.push(back)
    const all = [back, b!, c!]
    await until(() => compensations(all) === 1 && allAt(all, 'orders', 5), {
      what: 'exactly once everywhere',
      timeoutMs: 10_000,
    })
    // B (the retry) is the loser and the only one to compensate.
    expect(b!.node.keyStats.compensations).toBe(1)
    expect(back.node.keyStats.compensations).toBe(0)
    await gossipRoundsPass(all)
    expect(allAt(all, 'orders', 5)).toBe(true)
    expect(new Set(all.map((n) => n.node.map.digest())).size).toBe(1)

    // B crashes (no final snapshot: only what it logged survives) and restarts with its data:
    // its compensation is remembered, never repeated.
    b!.store.snapshot = async () => {}
    await b!.node.stop()
    nodes = nodes.filter((n) => n !== b)
    const b2 = await startSim(net, 'n2', ['n1:1'], {}, b!.store)
    nodes.push(b2)
    expect(
      b2.node.keys.applications('K').find((r) => r.replica === b2.node.identity.replicaId),
    ).toMatchObject({
      compensated: true,
    })
    await gossipRoundsPass([back, b2, c!])
    expect(b2.node.keyStats.compensations).toBe(0)
    expect(allAt([back, b2, c!], 'orders', 5)).toBe(true)
  })

  it('a retry on a node that already learnt the key is answered without applying', async () => {
    const net = new MemoryNetwork(43)
    const [a, b] = await cluster(net, 3)
    await a!.node.mutate({ name: 'pay', op: 'increment', amount: 7, key: 'K2' })
    await until(() => b!.node.keys.applications('K2').length === 1, {
      what: 'B learns the key record',
      timeoutMs: 5000,
    })
    const seq = b!.node.map.seq
    expect(await b!.node.mutate({ name: 'pay', op: 'increment', amount: 7, key: 'K2', attempt: 2 })).toEqual({
      name: 'pay',
      value: 7,
    })
    expect(b!.node.map.seq).toBe(seq) // nothing applied
    expect(b!.node.keyStats.answeredFromPeers).toBe(1)
    const err = await b!.node.mutate({ name: 'pay', op: 'increment', amount: 8, key: 'K2' }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'TALLY_IDEMPOTENCY_MISMATCH' })
    expect(toHttp(err).status).toBe(422)
    await gossipRoundsPass(nodes)
    expect(allAt(nodes, 'pay', 7)).toBe(true)
  })

  it('the same key sent to three nodes at once counts once after convergence', async () => {
    const net = new MemoryNetwork(47)
    const c = await cluster(net, 3)
    const answers = await Promise.all(
      c.map((n) => n.node.mutate({ name: 'dup', op: 'increment', amount: 3, key: 'K3' })),
    )
    expect(answers.every((r) => r.name === 'dup')).toBe(true)
    await until(() => compensations(c) === 2 && allAt(c, 'dup', 3), {
      what: 'exactly once',
      timeoutMs: 10_000,
    })
    // The smallest replica id won (same attempt): its node never compensates.
    expect(c[0]!.node.keyStats.compensations).toBe(0)
    await gossipRoundsPass(c)
    expect(allAt(c, 'dup', 3)).toBe(true)
    expect(compensations(c)).toBe(2)
  })

  it('a decrement retried on another node is cancelled by an increment', async () => {
    const net = new MemoryNetwork(53)
    const [a, b, c] = await cluster(net, 3)
    net.partition(['n1:1'], ['n2:1', 'n3:1'])
    await a!.node.mutate({ name: 'stock', op: 'decrement', amount: 4, key: 'K4' })
    await b!.node.mutate({ name: 'stock', op: 'decrement', amount: 4, key: 'K4', attempt: 2 })
    net.heal()
    await until(() => compensations([a!, b!, c!]) === 1 && allAt([a!, b!, c!], 'stock', -4), {
      what: 'once',
      timeoutMs: 10_000,
    })
  })

  it('a node that learnt the winner but crashed before compensating compensates at start', async () => {
    const net = new MemoryNetwork(59)
    const [a, b] = await cluster(net, 2)
    net.partition(['n1:1'], ['n2:1'])
    await a!.node.mutate({ name: 'x', op: 'increment', amount: 2, key: 'K5' })
    await b!.node.mutate({ name: 'x', op: 'increment', amount: 2, key: 'K5', attempt: 2 })
    await b!.node.stop()
    nodes = nodes.filter((n) => n !== b)
    // What B would have logged on learning A's application, had it crashed right after.
    const winner = a!.node.keys.applications('K5')[0]!
    await b!.store.appendRemote(a!.node.map.deltaFor(a!.node.identity.replicaId, 0), [winner])
    const b2 = await startSim(net, 'n2', ['n1:1'], {}, b!.store)
    nodes.push(b2)
    await until(() => b2.node.keyStats.compensations === 1, {
      what: 'compensation at start',
      timeoutMs: 5000,
    })
    expect(b2.node.map.value('x')).toBe(2)
    net.heal()
    await until(() => allAt([a!, b2], 'x', 2), { what: 'convergence', timeoutMs: 10_000 })
  })

  it('a snapshot holds hundreds of thousands of key records, and they come back at restart', async () => {
    const net = new MemoryNetwork(67)
    const [a] = await cluster(net, 1)
    const at = Date.now()
    for (let s = 1; s <= 200_000; s++) {
      a!.node.keys.add({
        key: `r${s}`,
        name: 'c',
        op: 'increment',
        amount: 1,
        value: s,
        at,
        replica: 'z.1',
        seq: s,
        attempt: 1,
      })
    }
    await a!.node.snapshot()
    expect(a!.node.snapshots).toBe(1)
    await a!.node.stop()
    nodes = []
    const back = await startSim(net, 'n1', [], {}, a!.store)
    nodes.push(back)
    expect(back.node.keys.size).toBe(200_000)
  })

  it('malformed key records are refused with the whole message, counted, and change nothing', async () => {
    const net = new MemoryNetwork(61)
    const [a] = await cluster(net, 1)
    const evil = new MemoryTransport(net, 'evil:1')
    await evil.listen()
    const digest = a!.node.map.digest()
    const delta = { ranges: [['evil.1', 0, 1]], entries: [['hits', 'evil.1', 9, 0, 1]] }
    const good = ['Kx', 'evil.1', 1, 'hits', 0, 9, 9, Date.now(), 1, 0]
    for (const k of [
      [[...good.slice(0, 8), 0, 0]],
      [['Kx', 'evil.1', 1, 'hits', 0, 9, 9, Date.now(), 1]],
      'x',
    ]) {
      evil.send('n1:1', { t: MsgType.PUSH, f: 'evil', delta, k } as unknown as Message)
    }
    await until(() => a!.node.transportStats().badFrames.shape === 3, {
      what: 'three refused frames',
      timeoutMs: 5000,
    })
    expect(a!.node.map.digest()).toBe(digest)
    expect(a!.node.keys.size).toBe(0)
    // The same message with a well-formed record is taken, record and all.
    evil.send('n1:1', { t: MsgType.PUSH, f: 'evil', delta, k: [good] } as unknown as Message)
    await until(() => a!.node.keys.size === 1, { what: 'good record learnt', timeoutMs: 5000 })
    expect(a!.node.map.value('hits')).toBe(9)
    await evil.close()
  })
})

describe('seeded random retries', () => {
  // Keyed writes, some retried on another node (next attempt) at once or later, under 10 % loss,
  // 10 % duplication, partitions and restarts with data: each key counts once in the end.
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: every key counts exactly once after convergence`, async () => {
      const rand = prng(seed)
      const int = (n: number) => Math.floor(rand() * n)
      const net = new MemoryNetwork(seed)
      const ids = ['s1', 's2', 's3', 's4']
      const live: SimNode[] = []
      for (const id of ids) live.push(await startSim(net, id, id === 's1' ? [] : ['s1:1']))
      nodes = live
      net.dropRate = 0.1
      net.dupRate = 0.1
      const expected = new Map<string, number>()
      const later: Array<() => Promise<unknown>> = []
      for (let step = 0; step < 60; step++) {
        const r = int(20)
        if (r === 0) {
          partitionAtRandom(net, ids, rand)
        } else if (r === 1) {
          net.heal()
        } else if (r === 2) {
          const i = int(live.length)
          const victim = live[i] as SimNode
          await victim.node.stop()
          live[i] = await startSim(net, victim.id, ['s1:1', 's2:1'], {}, victim.store)
        } else {
          const key = `key-${step}`
          const name = `k${int(3)}`
          const amount = 1 + int(20)
          const op = rand() < 0.7 ? 'increment' : 'decrement'
          const first = int(live.length)
          const req = { name, op, amount, key } as const
          const tries: Array<Promise<unknown>> = [
            (live[first] as SimNode).node.mutate({ ...req, attempt: 1 }),
          ]
          const roll = rand()
          if (roll < 0.3) {
            // The gateway's retry: another node, next attempt, at once (the first answer was "lost").
            const other = (first + 1 + int(live.length - 1)) % live.length
            tries.push((live[other] as SimNode).node.mutate({ ...req, attempt: 2 }))
          } else if (roll < 0.45) {
            // A client retrying much later, on any node (by then it may have learnt the key).
            const other = int(live.length)
            later.push(() => (live[other] as SimNode).node.mutate({ ...req, attempt: 2 }))
          }
          await Promise.all(tries)
          expected.set(name, (expected.get(name) ?? 0) + (op === 'increment' ? amount : -amount))
        }
        if (later.length > 0 && rand() < 0.2) await (later.shift() as () => Promise<unknown>)()
        await new Promise((res) => setTimeout(res, int(20)))
      }
      for (const f of later) await f()
      net.heal()
      net.dropRate = 0
      net.dupRate = 0
      const ok = () => live.every((n) => [...expected].every(([k, v]) => n.node.map.value(k) === v))
      await until(ok, { what: `exact totals (seed ${seed})`, timeoutMs: 20_000 }).catch((err) => {
        const got = live.map((n) => [...expected.keys()].map((k) => n.node.map.value(k)))
        throw new Error(
          `${(err as Error).message}: want ${JSON.stringify([...expected])}, got ${JSON.stringify(got)}`,
        )
      })
      await gossipRoundsPass(live)
      expect(ok()).toBe(true)
      expect(new Set(live.map((n) => n.node.map.digest())).size).toBe(1)
    }, 60_000)
  }
})
