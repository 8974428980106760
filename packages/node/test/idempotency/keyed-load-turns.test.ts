// Loading the recovered key records in turns (KeyedWrites.loadInTurns, what
// the node does at start) leaves the idempotency table and the key ledger
// exactly as one synchronous load would, and lets the event loop run while
// it works. Turns are counted, never timed (the load's clock is a counter).
import { CounterMap } from '@tally/crdt'
import { countTurns } from '@tally/kit/testing'
import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { KeyedWrites } from '../../src/idempotency/keyed-writes.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { WriteFence } from '../../src/storage/write-fence.js'

const NOW = Date.now()
const SELF = 'self.1'

function keyed(maxKeys: number): KeyedWrites {
  const logger = pino({ level: 'silent' })
  return new KeyedWrites({
    map: new CounterMap(SELF),
    fence: new WriteFence({ store: new MemoryStore(), logger }),
    logger,
    ttlMs: 60_000,
    maxKeys,
    publish: () => {},
  })
}

// Own records, peers' records, a key applied by two replicas, some expired, some older than others.
function records(n: number): IdempotencyRecord[] {
  const out: IdempotencyRecord[] = []
  for (let i = 0; i < n; i++) {
    const replica = i % 3 === 0 ? 'peer.2' : SELF
    out.push({
      key: `k-${i % 7 === 0 ? i - 1 : i}`,
      name: `c-${i % 100}`,
      op: 'increment',
      amount: 1,
      value: i,
      // The first 40 % well outside the 60 s retention, the rest well inside it (real work for the
      // ledger and table; no record near the edge, which the test's own run time would move).
      at: i < 60_000 ? NOW - 120_000 + Math.floor(i / 10) : NOW - 30_000 + Math.floor((i - 60_000) / 10),
      replica,
      seq: i + 1,
      attempt: 1,
    })
  }
  // Records from before keys were replicated: no replica, own.
  out.push({ key: 'legacy', name: 'c-0', op: 'increment', amount: 1, value: 1, at: NOW - 10 })
  // One older than records before it: the own records are then not in time order.
  out.push({ key: 'legacy-old', name: 'c-1', op: 'increment', amount: 1, value: 2, at: NOW - 110_000 })
  return out
}

describe('KeyedWrites.loadInTurns', () => {
  it.each([
    ['under the cap', 1_000_000],
    ['past the cap (oldest dropped first)', 20_000],
  ])('gives the same table and ledger as load, %s, over many turns', async (_, maxKeys) => {
    // Each its own records: a load takes them over.
    const a = keyed(maxKeys)
    const input = records(150_000)
    // The clock the load reads moves 4 ms a look (a 4 096-record piece), whatever the machine's speed: a fast machine
    // would otherwise finish within three 8 ms budgets and take only three turns.
    let ms = 0
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (ms += 4))
    const stop = countTurns().stop
    try {
      await a.loadInTurns(input)
    } finally {
      clock.mockRestore()
    }
    expect(stop()).toBeGreaterThan(3)
    const b = keyed(maxKeys)
    b.load(records(150_000))
    expect(a.answers).toBe(b.answers)
    expect(a.answers).toBeGreaterThan(0)
    expect(a.table.size).toBe(b.table.size)
    expect(a.ledger.records()).toEqual(b.ledger.records())
    // The same decisions: repeats of own applications, applications elsewhere, the legacy answer, mismatches.
    const outcome = (k: KeyedWrites, key: string, name: string): string => {
      try {
        return k.decide(key, { name, op: 'increment', amount: 1 }).kind
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    const seen = new Set<string>()
    for (const [key, name] of [
      ['k-6', 'c-6'],
      ['k-149999', 'c-99'],
      ['k-140000', 'c-0'],
      ['k-140001', 'c-1'],
      ['k-140002', 'c-2'],
      ['k-3', 'c-3'],
      ['k-3', 'c-4'],
      ['legacy', 'c-0'],
      ['legacy', 'c-9'],
      ['legacy-old', 'c-1'],
    ] as const) {
      const got = outcome(a, key, name)
      expect(got).toBe(outcome(b, key, name))
      seen.add(got)
    }
    expect([...seen].sort()).toEqual(
      maxKeys > 100_000
        ? ['TALLY_IDEMPOTENCY_MISMATCH', 'applied-elsewhere', 'apply', 'repeat']
        : expect.arrayContaining(['TALLY_IDEMPOTENCY_MISMATCH', 'apply', 'repeat']),
    )
  })
})
