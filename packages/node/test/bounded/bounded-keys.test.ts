// Key records of keyed bounded writes learnt from peers: logged in the
// bounded LevelDB log, recovered after a restart (from the log and from a
// snapshot), expired by the same TTL / max-keys rules as own records; and
// learnt from the grants a keyed decrement short of rights waited for.

import { Cleanup, tempDir, until } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { BoundedCounters } from '../../src/bounded/bounded-counters.js'
import { BoundedKeys } from '../../src/bounded/bounded-keys.js'
import { BoundedReplication } from '../../src/bounded/bounded-replication.js'
import { MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { LevelBoundedStore } from '../../src/bounded/level-bounded-store.js'
import { isNodeError } from '../../src/errors.js'
import type { KeyRecord } from '../../src/idempotency/key-ledger.js'
import { detectorFor } from '../../src/membership/failure-detector.js'
import { Membership } from '../../src/membership/membership.js'
import type { BoundedMessage } from '../../src/wire/bounded-messages.js'
import type { Message } from '../../src/wire/messages.js'
import type { Transport } from '../../src/wire/transport.js'
import { silent } from '../support/sim.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const learnt = (key: string, at = Date.now()): KeyRecord => ({
  key,
  name: 'stock',
  op: 'decrement',
  amount: 2,
  value: 8,
  at,
  replica: 'peer.1',
  seq: at,
  attempt: 1,
})

async function open(dir: string): Promise<BoundedCounters> {
  const c = await BoundedCounters.open({
    replica: 'me.1',
    store: new LevelBoundedStore({ dataDir: dir }),
    logger: silent,
    idempotencyTtlMs: 60_000,
    idempotencyMaxKeys: 100,
  })
  cleanup.add(() => c.stop())
  return c
}

describe('bounded key records learnt from peers', () => {
  it('are logged in the bounded LevelDB log and answer a retry after a restart, from the log and from a snapshot', async () => {
    const dir = await tempDir(cleanup, 'tally-bounded-keys-')
    const first = await open(dir)
    await first.mutate({ name: 'stock', op: 'increment', amount: 10 })
    expect(first.learnKeys([learnt('order-1')])).toBe(1)
    // Known already: nothing new to log.
    expect(first.learnKeys([learnt('order-1', first.keys.ledger.applications('order-1')[0]!.at)])).toBe(0)
    await first.stop()

    const second = await open(dir)
    expect(second.keys.ledger.applications('order-1')).toHaveLength(1)
    const retry = { name: 'stock', op: 'decrement' as const, amount: 2, key: 'order-1', attempt: 2 }
    await expect(second.mutate(retry)).resolves.toEqual({ name: 'stock', value: 8 })
    expect(second.view('stock').value).toBe(10)
    const other = await second.mutate({ ...retry, amount: 1 }).catch((e: unknown) => e)
    expect(isNodeError(other, 'TALLY_IDEMPOTENCY_MISMATCH')).toBe(true)
    await second.snapshot()
    await second.stop()

    const third = await open(dir)
    await expect(third.mutate(retry)).resolves.toEqual({ name: 'stock', value: 8 })
    expect(third.view('stock').value).toBe(10)
    expect(third.keys.stats.answeredFromPeers).toBe(1)
  })

  it('expire by the same TTL and max-keys rules as own records', () => {
    let now = 1_000_000
    const keys = new BoundedKeys({ replica: 'me.1', logger: silent, ttlMs: 1000, maxKeys: 2, now: () => now })
    // Already past retention: not learnt.
    expect(keys.learn([learnt('old', now - 1000)])).toEqual([])
    expect(keys.learn([learnt('a', now), learnt('b', now), learnt('c', now)])).toHaveLength(3)
    // The cap keeps the two newest.
    expect(keys.ledger.applications('a')).toEqual([])
    expect(keys.recordsOf(['stock']).map((r) => r.key)).toEqual(['b', 'c'])
    now += 1000
    expect(keys.recordsOf(['stock'])).toEqual([])
    expect(keys.snapshotRecords()).toEqual([])
  })
})

// Two nodes whose messages are delivered in order through a queue; no eager push, no rounds.
async function wiredPair(): Promise<{
  a: BoundedCounters
  b: BoundedCounters
  deliver: () => Promise<void>
}> {
  const queue: Array<[string, Message]> = []
  const side = async (id: string, peer: string) => {
    const counters = await BoundedCounters.open({
      replica: `${id}.1`,
      store: new MemoryBoundedStore(),
      logger: silent,
      idempotencyTtlMs: 60_000,
      idempotencyMaxKeys: 100,
    })
    const membership = new Membership({
      self: { id, addr: `${id}:1`, http: '' },
      detector: detectorFor(100),
      probeBaseMs: 100,
      probeMaxMs: 1000,
    })
    membership.observe(peer, `${peer}:1`)
    const transport = {
      send: (addr: string, msg: Message) => queue.push([addr, msg]),
      sendAll: (addr: string, msgs: Message[]) =>
        queue.push(...msgs.map((m): [string, Message] => [addr, m])),
    } as unknown as Transport
    const repl = new BoundedReplication({
      counters,
      transport,
      membership,
      logger: silent,
      fanout: 1,
      gossipIntervalMs: 60_000,
      eagerPush: false,
      transferTimeoutMs: 10_000,
    })
    repl.start()
    cleanup.add(() => repl.stop())
    return { counters, repl }
  }
  const a = await side('a', 'b')
  const b = await side('b', 'a')
  const by: Record<string, BoundedReplication> = { 'a:1': a.repl, 'b:1': b.repl }
  const deliver = async () => {
    for (let i = 0; i < 100; i++) {
      const next = queue.shift()
      if (next) by[next[0]]!.handle(next[1] as BoundedMessage)
      await new Promise((r) => setImmediate(r))
    }
  }
  return { a: a.counters, b: b.counters, deliver }
}

describe('a keyed decrement short of rights', () => {
  it('learns the key records of the counter from the grants and answers from them instead of applying', async () => {
    const { a, b, deliver } = await wiredPair()
    await a.mutate({ name: 'stock', op: 'increment', amount: 10 })
    b.mergeRemote('stock', a.shareable('stock'))
    // A applies the key; B never gets the push (eager push is off, no rounds run).
    await expect(a.mutate({ name: 'stock', op: 'decrement', amount: 3, key: 'order-1' })).resolves.toEqual({
      name: 'stock',
      value: 7,
    })
    expect(b.keys.ledger.applications('order-1')).toEqual([])
    const retry = b.mutate({ name: 'stock', op: 'decrement', amount: 3, key: 'order-1', attempt: 2 })
    await deliver()
    await expect(retry).resolves.toEqual({ name: 'stock', value: 7 })
    expect(b.stats.decrements).toBe(0)
    expect(b.view('stock').value).toBe(7)
    expect(a.view('stock').value).toBe(7)
    expect(b.keys.stats.answeredFromPeers).toBe(1)
  })
})

// The key records of `stock` a node would send, as fresh copies (as off the wire).
const sent = (c: BoundedCounters): KeyRecord[] => c.keys.recordsOf(['stock']).map((r) => ({ ...r }))

describe('a key applied on two replicas (the retry got there before the record)', () => {
  it('the retry’s node cancels its application once the records meet, once; the first one stays', async () => {
    const { a, b } = await wiredPair()
    await a.mutate({ name: 'stock', op: 'increment', amount: 10 })
    await b.mutate({ name: 'stock', op: 'increment', amount: 10 })
    a.mergeRemote('stock', b.shareable('stock'))
    b.mergeRemote('stock', a.shareable('stock'))
    const order = { name: 'stock', op: 'decrement' as const, amount: 3, key: 'order-1' }
    await expect(a.mutate(order)).resolves.toEqual({ name: 'stock', value: 17 })
    // B's own rights cover it: applied again before the record arrives.
    await expect(b.mutate({ ...order, attempt: 2 })).resolves.toEqual({ name: 'stock', value: 17 })
    // The records meet (both ways, twice: nothing more happens the second time).
    for (let i = 0; i < 2; i++) {
      b.learnKeys(sent(a))
      a.learnKeys(sent(b))
    }
    await until(() => b.keys.stats.compensations === 1, {
      what: 'B cancels its application',
      timeoutMs: 5000,
    })
    a.mergeRemote('stock', b.shareable('stock'))
    b.mergeRemote('stock', a.shareable('stock'))
    expect(a.view('stock').value).toBe(17)
    expect(b.view('stock').value).toBe(17)
    expect(a.keys.stats.compensations).toBe(0)
    expect(b.keys.ledger.applications('order-1').find((r) => r.replica === 'b.1')?.compensated).toBe(true)
    // A learns that B's application is cancelled (and logs it); a repeat on B still answers its first answer.
    expect(a.learnKeys(sent(b))).toBe(1)
    expect(a.keys.ledger.applications('order-1').find((r) => r.replica === 'b.1')?.compensated).toBe(true)
    await expect(b.mutate({ ...order, attempt: 3 })).resolves.toEqual({ name: 'stock', value: 17 })
    expect(b.view('stock').value).toBe(17)
  })
})
