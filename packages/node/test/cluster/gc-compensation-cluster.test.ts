// A duplicate keyed write's compensation is a write like any other: when the
// counter was garbage-collected between the duplicate and its reconcile, the
// compensation first lifts the node's own totals to a covered base (the floor
// rule, resets/counter-gc.ts), so a peer still holding the old covered copy
// counts it instead of swallowing it under totals it already holds.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type KeyTuple, MsgType } from '../../src/wire/messages.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
const others: MemoryTransport[] = []
afterEach(async () => {
  await Promise.allSettled([...nodes.map((n) => n.node.stop()), ...others.splice(0).map((t) => t.close())])
  nodes = []
})

describe('compensation after a garbage collection', () => {
  it('a compensation written after its counter was collected counts on a peer that still holds the old copy', async () => {
    const net = new MemoryNetwork(31)
    // n1 collects quickly; n2 keeps its covered copy for an hour.
    const w = await startSim(net, 'n1', [], { gcGraceMs: 30 })
    const h = await startSim(net, 'n2', ['n1:1'], { gcGraceMs: 3_600_000 })
    nodes.push(w, h)
    await until(() => w.node.membership.counts().live === 1 && h.node.membership.counts().live === 1, {
      what: 'both members',
      timeoutMs: 10_000,
    })
    await w.node.mutate({ name: 'x', op: 'increment', amount: 5 })
    // n1's application of key K, on a second attempt: it will lose to another replica's first.
    await w.node.mutate({ name: 'x', op: 'decrement', amount: 1, key: 'K', attempt: 2 })
    await until(() => h.node.value('x') === 4, { what: 'x at n2', timeoutMs: 10_000 })
    await w.node.delete('x')
    await until(() => !w.node.map.has('x'), { what: 'n1 collected x', timeoutMs: 15_000 })
    expect(w.node.lifecycle.floor).toBe(5)

    // Now n1 learns that another replica applied K first (its record reached n1 late).
    const z = new MemoryTransport(net, 'z:1')
    others.push(z)
    await z.listen()
    const first: KeyTuple = ['K', 'z.1', 1, 'x', 1, 1, 4, Date.now(), 1, 0]
    z.send(w.addr, { t: MsgType.PUSH, f: 'z', delta: { ranges: [], entries: [] }, k: [first] })
    await until(() => w.node.keyStats.compensations === 1, { what: 'the compensation', timeoutMs: 10_000 })
    // The compensation (+1) counts from the deleted state on both nodes.
    const wr = w.node.map.replica
    await until(() => (h.node.map.summary()[wr] ?? 0) >= w.node.map.seq, {
      what: 'the compensation at n2',
      timeoutMs: 10_000,
    })
    // Its lift's mark rides ahead of it (delta-marks.ts): no wait for a separate MARKS message.
    expect([w.node.value('x'), h.node.value('x')]).toEqual([1, 1])
    expect(h.node.map.counterState('x').p[wr]).toBe(6) // lifted to the floor 5, then +1
  })
})
