// The failure detector at cluster scale: 30 idle nodes over the memory
// transport with the production gossip interval (200 ms) and fanout (3).
// With fanout 3 among 30 a pair goes 10 rounds without an exchange about 11 %
// of the time, so a detector judging by silence alone shows healthy peers as
// suspect; direct probes of silent peers must keep every one of them live.
// A cut-off node must still be suspected within 2 s and dead within 6 s.

import { until } from '@tally/kit/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { type SimNode, startSim } from '../support/sim.js'

const N = 30
const IDLE_ROUNDS = 30
let nodes: SimNode[] = []
afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
})

const rounds = (n: SimNode): number => n.node.replicator.stats.rounds

describe(`failure detection in an idle ${N}-node cluster`, () => {
  it('never suspects a healthy peer over many rounds, and still detects a cut-off node fast', async () => {
    const net = new MemoryNetwork(7)
    for (let i = 0; i < N; i++) {
      nodes.push(await startSim(net, `f${i}`, i === 0 ? [] : ['f0:1'], { gossipIntervalMs: 200, fanout: 3 }))
    }
    const allLive = (): boolean => nodes.every((n) => n.node.membership.counts().live === N - 1)
    await until(allLive, { what: 'every node seeing every other live', timeoutMs: 30_000 })

    // Idle period measured in rounds every node ran, checked every 20 ms.
    const start = nodes.map(rounds)
    const seen = new Map<string, number>()
    let checks = 0
    await until(
      () => {
        checks++
        for (const n of nodes) {
          for (const p of n.node.membership.list()) {
            if (p.state !== 'live') seen.set(`${n.id} sees ${p.id} ${p.state}`, Date.now())
          }
        }
        return nodes.every((n, i) => rounds(n) - (start[i] as number) >= IDLE_ROUNDS)
      },
      { what: `${IDLE_ROUNDS} gossip rounds on every node`, timeoutMs: 60_000 },
    )
    expect(checks).toBeGreaterThan(IDLE_ROUNDS)
    expect([...seen.keys()]).toEqual([])

    // Cut f29 off from everyone: every other node must suspect it within 2 s, declare it dead within 6 s.
    const victim = nodes[N - 1] as SimNode
    const others = nodes.slice(0, N - 1)
    const stateOf = (n: SimNode): string | undefined =>
      n.node.membership.list().find((p) => p.id === victim.id)?.state
    const cutAt = Date.now()
    net.partition(
      [victim.addr],
      others.map((n) => n.addr),
    )
    await until(() => others.every((n) => stateOf(n) !== 'live'), {
      what: 'every node suspecting the victim',
      timeoutMs: 10_000,
    })
    const suspectedIn = Date.now() - cutAt
    await until(() => others.every((n) => stateOf(n) === 'dead'), {
      what: 'every node declaring it dead',
      timeoutMs: 15_000,
    })
    const deadIn = Date.now() - cutAt
    expect(suspectedIn).toBeLessThanOrEqual(2_000)
    expect(deadIn).toBeLessThanOrEqual(6_000)
  }, 120_000)
})
