// Key records of keyed bounded writes learnt from peers: logged in the
// bounded LevelDB log, recovered after a restart (from the log and from a
// snapshot), expired by the same TTL / max-keys rules as own records.

import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { BoundedCounters } from '../../src/bounded/bounded-counters.js'
import { BoundedKeys } from '../../src/bounded/bounded-keys.js'
import { LevelBoundedStore } from '../../src/bounded/level-bounded-store.js'
import { isNodeError } from '../../src/errors.js'
import type { KeyRecord } from '../../src/idempotency/key-ledger.js'
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
