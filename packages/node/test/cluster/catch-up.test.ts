// Catch-up in bounded slices: a node joining a node that holds far more
// counters than one slice is sent the difference in slices no bigger than the
// budget, asks for each next one itself, and ends with the whole state; the
// source builds one slice per request, in the handler of that request (so in
// its turn), only one request is ever waiting, and it answers /health between
// slices.
//
// What is counted is the messages themselves, not event-loop turns: a
// setImmediate ticker under load can miss iterations, stamping a slice, the
// joiner's next ask and the slice that answers it with one "turn".

import { until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import type { MessageHandler } from '../../src/wire/transport.js'
import { type SimNode, startSim } from '../support/sim.js'

const BUDGET = 1_000
const COUNTERS = 12_000

let nodes: SimNode[] = []
let apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.allSettled(apps.map((a) => a.close()))
  await Promise.allSettled(nodes.map((n) => n.node.stop()))
  nodes = []
  apps = []
})

// A memory transport that numbers the messages it hands to its node and
// records, for each PUSH its node sends, which received message it was sent
// while handling (-1: outside any), how many entries it carried and whether
// it is an ask (carries a summary).
class Recording extends MemoryTransport {
  readonly pushes: Array<{ during: number; entries: number; ask: boolean }> = []
  /** Asks (PUSH with a summary) handed to the node. */
  asksIn = 0
  #handling = -1
  #received = 0
  override onMessage(handler: MessageHandler): void {
    super.onMessage((msg, from) => {
      if (msg.t === MsgType.PUSH && msg.s !== undefined) this.asksIn++
      this.#handling = this.#received++
      try {
        handler(msg, from)
      } finally {
        this.#handling = -1
      }
    })
  }
  override sendAll(addr: string, msgs: readonly Message[]): void {
    for (const m of msgs)
      if (m.t === MsgType.PUSH)
        this.pushes.push({
          during: this.#handling,
          entries: (m.delta as { entries: unknown[] }).entries.length,
          ask: m.s !== undefined,
        })
    super.sendAll(addr, msgs)
  }
}

/** Asks `late` sent that `src` had not yet received, at the most (sampled at each send). */
class AskingRecording extends Recording {
  maxWaiting = 0
  constructor(
    net: MemoryNetwork,
    addr: string,
    readonly src: Recording,
  ) {
    super(net, addr)
  }
  override sendAll(addr: string, msgs: readonly Message[]): void {
    super.sendAll(addr, msgs)
    const sent = this.pushes.filter((p) => p.ask).length
    this.maxWaiting = Math.max(this.maxWaiting, sent - this.src.asksIn)
  }
}

async function loadedSource(net: MemoryNetwork): Promise<{ src: SimNode; rec: Recording }> {
  const rec = new Recording(net, 'src:1')
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
    const { src, rec } = await loadedSource(net)
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

  it('builds one slice per request, in its handler, with one request waiting at a time, and answers /health between slices', async () => {
    const net = new MemoryNetwork(43)
    const { src, rec } = await loadedSource(net)
    const app = buildApp({ node: src.node })
    apps.push(app)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const asking = new AskingRecording(net, 'late:1', rec)
    const late = await startSim(net, 'late', ['src:1'], {
      transport: asking,
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
    // Every entry the source sent went out while it handled a request, at most one slice's worth per request…
    const slicesSent = rec.pushes.filter((p) => p.entries > 0)
    expect(slicesSent.every((p) => p.during >= 0)).toBe(true)
    const perRequest = new Map<number, number>()
    for (const p of slicesSent) perRequest.set(p.during, (perRequest.get(p.during) ?? 0) + p.entries)
    expect(Math.max(...perRequest.values())).toBeLessThanOrEqual(BUDGET)
    expect(perRequest.size).toBeGreaterThanOrEqual(COUNTERS / BUDGET)
    // …and the joiner never had two asks waiting: no turn of the source could hold two requests.
    expect(rec.asksIn).toBeGreaterThanOrEqual(COUNTERS / BUDGET)
    expect(asking.maxWaiting).toBe(1)
    // /health answered while the catch-up was under way, between slices, not only before or after it.
    const during = new Set(seen.filter((n) => n > 0 && n < slices))
    expect(during.size).toBeGreaterThanOrEqual(2)
  })
})
