// The granting side of a transfer request, driven message by message: a
// request read after its requester stopped waiting gives nothing (rights
// would sit idle there), a live one gives what it can once durable.

import { until } from '@tally/kit/testing'
import { describe, expect, it } from 'vitest'
import { BoundedCounters } from '../../src/bounded/bounded-counters.js'
import { BoundedReplication } from '../../src/bounded/bounded-replication.js'
import { MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { detectorFor } from '../../src/membership/failure-detector.js'
import { Membership } from '../../src/membership/membership.js'
import type { BGrantMsg, BWantMsg } from '../../src/wire/bounded-messages.js'
import type { Message } from '../../src/wire/messages.js'
import type { Transport } from '../../src/wire/transport.js'
import { silent } from '../support/sim.js'

async function granter(): Promise<{ counters: BoundedCounters; repl: BoundedReplication; sent: Message[] }> {
  const counters = await BoundedCounters.open({
    replica: 'b.1',
    store: new MemoryBoundedStore(),
    logger: silent,
    idempotencyTtlMs: 60_000,
    idempotencyMaxKeys: 100,
  })
  await counters.mutate({ name: 's', op: 'increment', amount: 5 })
  const sent: Message[] = []
  const transport = { send: (_addr: string, msg: Message) => sent.push(msg) } as unknown as Transport
  const membership = new Membership({
    self: { id: 'b', addr: 'b:1', http: '' },
    detector: detectorFor(100),
    probeBaseMs: 100,
    probeMaxMs: 1000,
  })
  const repl = new BoundedReplication({
    counters,
    transport,
    membership,
    logger: silent,
    fanout: 3,
    gossipIntervalMs: 100,
    eagerPush: false,
    transferTimeoutMs: 1000,
  })
  return { counters, repl, sent }
}

const want = (x: number, m = 3): BWantMsg => ({ t: 23, f: 'a', a: 'a:1', q: 7, n: 's', m, r: 'a.1', x })

describe('BoundedReplication, granting side', () => {
  it('a request read after its expiry is answered with no rights, and nothing moves', async () => {
    const { counters, repl, sent } = await granter()
    repl.handle(want(Date.now() - 1))
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ t: 24, q: 7, n: 's', g: 0 })
    expect(counters.view('s').rights).toEqual({ 'b.1': 5 })
    expect(repl.stats.wantsExpired).toBe(1)
  })

  it('a live request gets what was asked, at most what is held', async () => {
    const { counters, repl, sent } = await granter()
    repl.handle(want(Date.now() + 60_000, 3))
    await until(() => sent.length === 1, { what: 'the grant', timeoutMs: 5000 })
    const g = sent[0] as BGrantMsg
    expect(g.g).toBe(3)
    expect(counters.view('s').rights).toEqual({ 'a.1': 3, 'b.1': 2 })
    repl.handle({ ...want(Date.now() + 60_000, 9), q: 8 })
    await until(() => sent.length === 2, { what: 'the second grant', timeoutMs: 5000 })
    expect((sent[1] as BGrantMsg).g).toBe(2)
    expect(counters.view('s').rights).toEqual({ 'a.1': 5 })
  })
})
