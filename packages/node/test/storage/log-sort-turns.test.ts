// A restart builds the change logs (what deltaSince walks) in counter order,
// not in seq order. The node sorts them in pieces between turns once it
// serves, so the first peer that catches up does not wait for a sort of the
// whole log at once; the state does not change.
import { CounterMap } from '@tally/crdt'
import { until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { TallyNode } from '../../src/node.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

let running: TallyNode | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})

describe('change logs after a restart', () => {
  it('are sorted between turns without any read, and the state is the same', async () => {
    // A peer's 60 000 counters, each written twice: the later writes in reverse counter order.
    const peer = new CounterMap('peer.1')
    const n = 60_000
    for (let i = 0; i < n; i++) peer.increment(`c${i}`)
    for (let i = n - 1; i >= 0; i--) peer.increment(`c${i}`)
    const store = new MemoryStore()
    await store.open('a')
    await store.snapshot(peer.state(), [])
    // Merged in counter order, the records of the rebuilt map's log for peer.1 are out of seq order.
    expect(CounterMap.fromState('x.1', peer.state()).logsInOrder).toBe(false)

    const { node } = await startSim(new MemoryNetwork(), 'a', [], {}, store)
    running = node
    expect(node.map.digest()).toBe(peer.digest())
    await until(() => node.map.logsInOrder, { what: 'change logs in seq order', timeoutMs: 20_000 })
    expect(node.map.digest()).toBe(peer.digest())
    const d = node.map.deltaFor('peer.1', 2 * n - 3)
    expect(d.entries.map((e) => e[0])).toEqual(['c2', 'c1', 'c0'])
  })
})
