// Totals never reach a node without the reset marks that cover them
// (docs/crdt.md, "In a daemon"; docs/protocol.md, "Garbage collection of
// deleted counters"). A counter written again after its writer collected it
// carries lifted own totals, covered by a mark the writer sends apart; a
// node still holding the old covered copy must not read those totals before
// that mark, whatever path brings them: a relay's forward, or its anti-
// entropy answer. The network holds back every message from the writer to
// that node, and every sequence from the relay to it made of marks alone, so
// the only marks it can get are those riding with the totals.

import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import type { Message } from '../../src/wire/messages.js'
import { MsgType } from '../../src/wire/messages.js'
import { type SimNode, startSim } from '../support/sim.js'

let nodes: SimNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

async function cluster(
  net: MemoryNetwork,
  extra: (i: number) => Record<string, unknown>,
): Promise<SimNode[]> {
  const out: SimNode[] = []
  for (let i = 1; i <= 3; i++) out.push(await startSim(net, `n${i}`, i === 1 ? [] : ['n1:1'], extra(i)))
  nodes.push(...out)
  await until(() => out.every((x) => x.node.membership.counts().live === 2), {
    what: 'full membership',
    timeoutMs: 10_000,
  })
  return out
}

const marksOnly = (msgs: readonly Message[]): boolean => msgs.every((m) => m.t === MsgType.MARKS)

describe('marks travel with the totals they cover', () => {
  for (const path of ['a relay forward', 'an anti-entropy answer'] as const) {
    it(`a write lifted after a drop reads right on a node holding the old copy when ${path} brings it first`, async () => {
      const net = new MemoryNetwork(21)
      // n1 (the writer) collects quickly; n2 (the relay) and n3 (the holder) keep their copies.
      // Without eager push, only anti-entropy moves the totals from the relay to the holder.
      const c = await cluster(net, (i) => ({
        gcGraceMs: i === 1 ? 30 : 3_600_000,
        ...(path === 'an anti-entropy answer' ? { eagerPush: false } : {}),
      }))
      const [w, r, h] = c as [SimNode, SimNode, SimNode]
      await w.node.mutate({ name: 'x', op: 'increment', amount: 5 })
      await until(() => c.every((x) => x.node.value('x') === 5), { what: 'x everywhere', timeoutMs: 10_000 })
      await w.node.delete('x')
      await until(() => !w.node.map.has('x'), { what: 'n1 collected x', timeoutMs: 15_000 })
      expect(h.node.map.counterState('x').p[w.node.map.replica]).toBe(5) // the old covered copy

      // From now on n3 hears nothing from n1, and from n2 no sequence of marks alone.
      net.holdIf = (from, to, msgs) =>
        to === h.addr && (from === w.addr || (from === r.addr && marksOnly(msgs)))
      await w.node.mutate({ name: 'x', op: 'increment', amount: 2 }) // lifted: own p = n = 5, then p = 7
      const wr = w.node.map.replica
      await until(() => h.node.map.counterState('x').p[wr] === 7, {
        what: "n1's new write at n3 through n2",
        timeoutMs: 10_000,
      })
      expect(h.node.value('x')).toBe(2)

      net.release()
      await until(() => c.every((x) => x.node.value('x') === 2), {
        what: 'x = 2 everywhere',
        timeoutMs: 10_000,
      })
    })
  }
})
