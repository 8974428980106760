// Catch-up in bounded slices: a node joining a node that holds far more
// counters than one slice is sent the difference in slices no bigger than the
// budget, asks for each next one itself, and ends with the whole state; the
// source builds one slice per event-loop turn and answers /health between them.

import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import { type SimNode, startSim } from '../support/sim.js'

const BUDGET = 1_000
const COUNTERS = 12_000

let nodes: SimNode[] = []
let apps: FastifyInstance[] = []
let stopTicker = () => {}
afterEach(async () => {
  stopTicker()
  await Promise.allSettled(apps.map((a) => a.close()))
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
  apps = []
})

// Counts event-loop iterations: one setImmediate callback per iteration.
function turnCounter(): { now: () => number } {
  let turn = 0
  let on = true
  const tick = () => {
    turn++
    if (on) setImmediate(tick)
  }
  setImmediate(tick)
  stopTicker = () => {
    on = false
  }
  return { now: () => turn }
}

// A memory transport that records, per event-loop turn, how many entries each PUSH carried.
class Recording extends MemoryTransport {
  readonly pushes: Array<{ turn: number; entries: number }> = []
  constructor(
    net: MemoryNetwork,
    addr: string,
    readonly turn: () => number,
  ) {
    super(net, addr)
  }
  override sendAll(addr: string, msgs: readonly Message[]): void {
    for (const m of msgs)
      if (m.t === MsgType.PUSH)
        this.pushes.push({ turn: this.turn(), entries: (m.delta as { entries: unknown[] }).entries.length })
    super.sendAll(addr, msgs)
  }
}

async function loadedSource(
  net: MemoryNetwork,
  turn: () => number,
): Promise<{ src: SimNode; rec: Recording }> {
  const rec = new Recording(net, 'src:1', turn)
  // Rounds only when the test runs one, and no eager push of the load: the only exchange is the one under test.
  const src = await startSim(net, 'src', [], {
    transport: rec,
    gossipIntervalMs: 60_000,
    eagerPush: false,
    catchUpSliceEntries: BUDGET,
  })
  nodes.push(src)
  const writes: Promise<unknown>[] = []
  for (let i = 0; i < COUNTERS; i++)
    writes.push(src.node.mutate({ name: `c${i}`, op: 'increment', amount: 1 + (i % 7) }))
  await Promise.all(writes)
  return { src, rec }
}

describe('catch-up in slices', () => {
  it('answers a large difference in slices no bigger than the budget, and the joiner asks until it holds everything', async () => {
    const net = new MemoryNetwork(41)
    const turns = turnCounter()
    const { src, rec } = await loadedSource(net, turns.now)
    const late = await startSim(net, 'late', ['src:1'], {
      gossipIntervalMs: 60_000,
      catchUpSliceEntries: BUDGET,
    })
    nodes.push(late)
    late.node.replicator.round() // one PULL; every further slice is asked for by the joiner itself
    await until(() => late.node.map.digest() === src.node.map.digest(), {
      what: `catch-up of ${COUNTERS} counters in slices`,
      timeoutMs: 30_000,
    })
    expect(late.node.map.summary()).toEqual(src.node.map.summary())
    expect(late.node.map.size).toBe(COUNTERS)
    const sizes = rec.pushes.map((p) => p.entries)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(BUDGET)
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(COUNTERS / BUDGET)
    expect(late.node.replicator.stats.sliceAsks).toBeGreaterThanOrEqual(COUNTERS / BUDGET - 1)
    expect(late.node.replicator.stats.rounds).toBe(1)
  })

  it('builds one slice per event-loop turn and answers /health between slices', async () => {
    const net = new MemoryNetwork(43)
    const turns = turnCounter()
    const { src, rec } = await loadedSource(net, turns.now)
    const app = buildApp({ node: src.node })
    apps.push(app)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const late = await startSim(net, 'late', ['src:1'], {
      gossipIntervalMs: 60_000,
      catchUpSliceEntries: BUDGET,
    })
    nodes.push(late)
    // /health over HTTP in a loop; each answer notes how many slices the source had sent by then.
    const seen: number[] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${base}/health`)
        expect(res.status).toBe(200)
        await res.json()
        seen.push(src.node.replicator.stats.slicesOut)
      }
    })()
    late.node.replicator.round()
    await until(() => late.node.map.digest() === src.node.map.digest(), {
      what: 'catch-up while /health is polled',
      timeoutMs: 30_000,
    })
    polling = false
    await poller
    const slices = src.node.replicator.stats.slicesOut
    expect(slices).toBeGreaterThanOrEqual(COUNTERS / BUDGET - 1)
    // No turn sends more than one slice's worth of entries.
    const perTurn = new Map<number, number>()
    for (const p of rec.pushes) perTurn.set(p.turn, (perTurn.get(p.turn) ?? 0) + p.entries)
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(BUDGET)
    // /health answered while the catch-up was under way, between slices, not only before or after it.
    const during = new Set(seen.filter((n) => n > 0 && n < slices))
    expect(during.size).toBeGreaterThanOrEqual(2)
  })
})
