// Garbage collection of deleted and expired counters across whole nodes
// over the in-memory transport (resets/counter-gc.ts): a collected counter
// leaves memory, the log and snapshots for good; a member that does not
// answer blocks collection; a write after the drop survives a peer that still
// holds the old covered copy (the floor); restarts keep all of it.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { gossipRoundsPass, type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(net: MemoryNetwork, n: number, grace: (i: number) => number): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= n; i++)
    out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], { gcGraceMs: grace(i) }))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === n - 1), {
    what: 'full membership',
    timeoutMs: 10_000,
  })
  return out
}

const at = (c: SimNode[], name: string, v: number): boolean => c.every((x) => x.node.value(name) === v)
const inc = (x: SimNode, name: string, amount = 1) => x.node.mutate({ name, op: 'increment', amount })
const held = (x: SimNode, name: string): boolean => x.node.map.has(name) || x.node.lifecycle.marks.has(name)

describe('garbage collection of deleted counters', () => {
  it('a single node drops a deleted and an expired counter; a restart, with or without a snapshot, never brings them back', async () => {
    const net = new MemoryNetwork(1)
    const store = new MemoryStore()
    let a = await startSim(net, 'a', [], { gcGraceMs: 30 }, store)
    nodes.push(a)
    await inc(a, 'gone', 5)
    await inc(a, 'kept', 1)
    await inc(a, 'short', 3)
    await a.node.delete('gone')
    await a.node.expire('short', 20)
    await until(() => a.node.gc.stats.collected === 2, { what: 'both collected', timeoutMs: 10_000 })
    for (const name of ['gone', 'short'])
      expect([name, held(a, name), a.node.value(name)]).toEqual([name, false, 0])
    expect(a.node.names()).toEqual(['kept'])
    expect(a.node.lifecycle.floor).toBe(5)

    await a.node.stop()
    a = await startSim(net, 'a', [], { gcGraceMs: 30 }, store)
    nodes.push(a)
    expect([held(a, 'gone'), held(a, 'short'), a.node.map.size, a.node.lifecycle.floor]).toEqual([
      false,
      false,
      1,
      5,
    ])
    // Written again: counts from 0, its own totals from the floor.
    expect((await inc(a, 'gone', 2)).value).toBe(2)
    expect(a.node.map.counterState('gone')).toEqual({
      p: { [a.node.map.replica]: 7 },
      n: { [a.node.map.replica]: 5 },
    })

    await a.node.snapshot()
    await a.node.stop()
    a = await startSim(net, 'a', [], { gcGraceMs: 30 }, store)
    nodes.push(a)
    expect([a.node.value('gone'), held(a, 'short'), a.node.lifecycle.floor]).toEqual([2, false, 5])
  })

  it('every node drops a deleted counter; the name is written again and reads the same everywhere', async () => {
    const c = await cluster(new MemoryNetwork(5), 3, () => 30)
    await Promise.all(c.map((x, i) => inc(x, 'gone', i + 1)))
    await until(() => at(c, 'gone', 6), { what: 'writes everywhere', timeoutMs: 10_000 })
    await c[1]!.node.delete('gone')
    await until(() => c.every((x) => !held(x, 'gone')), { what: 'collected everywhere', timeoutMs: 15_000 })
    // Each dropped it at least once (a node may drop a bare mark handed back by one that had not dropped yet).
    expect(c.every((x) => x.node.gc.stats.collected >= 1)).toBe(true)

    await inc(c[2]!, 'gone', 2)
    await inc(c[0]!, 'gone', 1)
    await until(() => at(c, 'gone', 3), { what: 'the name again everywhere', timeoutMs: 10_000 })
  })

  it('a member that does not answer blocks collection until it is back', async () => {
    const net = new MemoryNetwork(7)
    const c = await cluster(net, 3, () => 30)
    await inc(c[0]!, 'x', 4)
    await until(() => at(c, 'x', 4), { what: 'x everywhere', timeoutMs: 10_000 })
    net.partition(['n1:1', 'n2:1'], ['n3:1'])
    await c[0]!.node.delete('x')
    await until(() => c[1]!.node.value('x') === 0, { what: 'the delete on n2', timeoutMs: 10_000 })
    await gossipRoundsPass(c.slice(0, 2), 20) // far past the grace period
    expect(c.map((x) => held(x, 'x'))).toEqual([true, true, true])
    net.heal()
    await until(() => c.every((x) => !held(x, 'x')), { what: 'collected once n3 is back', timeoutMs: 15_000 })
  })

  it('a write after the drop survives peers that still hold the old covered copy (the floor), and a restart', async () => {
    const net = new MemoryNetwork(11)
    // n1 collects quickly; n2 and n3 keep their copies for an hour.
    const c = await cluster(net, 3, (i) => (i === 1 ? 30 : 3_600_000))
    await inc(c[0]!, 'x', 5)
    await inc(c[1]!, 'x', 3)
    await until(() => at(c, 'x', 8), { what: 'x everywhere', timeoutMs: 10_000 })
    await c[0]!.node.delete('x')
    await until(() => !c[0]!.node.map.has('x'), { what: 'n1 collected x', timeoutMs: 15_000 })
    expect(c[0]!.node.lifecycle.floor).toBe(5)
    expect(c.slice(1).map((x) => x.node.map.has('x'))).toEqual([true, true])

    // n2 and n3, which still hold x, hand its mark back to n1 (a bare mark there: no totals).
    await until(() => c[0]!.node.lifecycle.marks.has('x') && !c[0]!.node.map.has('x'), {
      what: "x's mark back at n1",
      timeoutMs: 10_000,
    })
    await inc(c[0]!, 'x', 2) // n1 starts again from its floor, above the 5 n2 and n3 hold of it
    await until(() => at(c, 'x', 2), { what: "n1's new write everywhere", timeoutMs: 10_000 })
    const n1 = c[0]!.node.map.replica
    expect(c[2]!.node.map.counterState('x').p[n1]).toBe(7)

    // n2 confirmed x to n1: its own next write is lifted too, and counts from 0.
    await inc(c[1]!, 'x', 1)
    await until(() => at(c, 'x', 3), { what: "n2's write everywhere", timeoutMs: 10_000 })

    const store = c[0]!.store
    await c[0]!.node.stop()
    const again = await startSim(net, 'n1', [], { gcGraceMs: 30 }, store)
    nodes.push(again)
    expect(again.node.value('x')).toBe(3)
    expect(again.node.lifecycle.floor).toBe(5)
  })
})
