// A node's answers to retries of its keyed writes come from its own
// applications in the key ledger (one copy of each record, not a second
// table of them); the table holds only answers from before keys were
// replicated, and requests in flight.
import { CounterMap } from '@tally/crdt'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { OpShape } from '../../src/idempotency/idempotency.js'
import { KeyedWrites } from '../../src/idempotency/keyed-writes.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { IdempotencyRecord } from '../../src/storage/store.js'
import { WriteFence } from '../../src/storage/write-fence.js'

const SELF = 'self.1'
const TTL = 60_000
const inc = (name: string, amount = 1): OpShape => ({ name, op: 'increment', amount })

function keyed(maxKeys = 1_000): KeyedWrites {
  const logger = pino({ level: 'silent' })
  return new KeyedWrites({
    map: new CounterMap(SELF),
    fence: new WriteFence({ store: new MemoryStore(), logger }),
    logger,
    ttlMs: TTL,
    maxKeys,
    publish: () => {},
  })
}

function outcome(k: KeyedWrites, key: string, shape: OpShape): unknown {
  try {
    return k.decide(key, shape)
  } catch (err) {
    return (err as { code: string }).code
  }
}

describe('KeyedWrites answers', () => {
  it('repeat an own application from the ledger, refuse another request with its key, and count only own answers', () => {
    const k = keyed()
    k.settle(k.recordFor('a', inc('c', 2), 7, 1, 1))
    expect(outcome(k, 'a', inc('c', 2))).toEqual({ kind: 'repeat', answer: { name: 'c', value: 7 } })
    expect(outcome(k, 'a', inc('c', 3))).toBe('TALLY_IDEMPOTENCY_MISMATCH')
    // One record, held once: in the ledger, not also in the table.
    expect(k.ledger.size).toBe(1)
    expect(k.table.size).toBe(0)
    expect(k.answers).toBe(1)

    // A peer's application is answered as applied elsewhere and is not one of this node's answers.
    const now = Date.now()
    const peer = {
      key: 'b',
      name: 'c',
      op: 'increment',
      amount: 1,
      value: 3,
      at: now,
      replica: 'p.1',
      seq: 1,
      attempt: 1,
    } as const
    expect(k.learn([{ ...peer }])).toHaveLength(1)
    expect(outcome(k, 'b', inc('c'))).toEqual({ kind: 'applied-elsewhere' })
    expect(k.answers).toBe(1)
    expect(k.ledger.size).toBe(2)
    expect(outcome(k, 'new', inc('c'))).toEqual({ kind: 'apply' })
  })

  it('answer from recovered records: own ones repeat, those from before keys were replicated repeat from the table, expired ones are new', () => {
    const k = keyed()
    const now = Date.now()
    const records: IdempotencyRecord[] = [
      {
        key: 'gone',
        name: 'c',
        op: 'increment',
        amount: 1,
        value: 1,
        at: now - TTL - 1_000,
        replica: SELF,
        seq: 1,
        attempt: 1,
      },
      { key: 'legacy', name: 'c', op: 'decrement', amount: 4, value: -4, at: now - 10 },
      {
        key: 'own',
        name: 'd',
        op: 'increment',
        amount: 1,
        value: 9,
        at: now - 5,
        replica: SELF,
        seq: 2,
        attempt: 1,
      },
      {
        key: 'theirs',
        name: 'd',
        op: 'increment',
        amount: 1,
        value: 2,
        at: now - 5,
        replica: 'p.1',
        seq: 1,
        attempt: 2,
      },
    ]
    k.load(records)
    expect(outcome(k, 'gone', inc('c'))).toEqual({ kind: 'apply' })
    expect(outcome(k, 'legacy', { name: 'c', op: 'decrement', amount: 4 })).toEqual({
      kind: 'repeat',
      answer: { name: 'c', value: -4 },
    })
    expect(outcome(k, 'legacy', inc('c'))).toBe('TALLY_IDEMPOTENCY_MISMATCH')
    expect(outcome(k, 'own', inc('d'))).toEqual({ kind: 'repeat', answer: { name: 'd', value: 9 } })
    expect(outcome(k, 'theirs', inc('d'))).toEqual({ kind: 'applied-elsewhere' })
    expect(k.answers).toBe(2)
    // A snapshot holds each record once: the legacy answer, then the ledger's.
    expect(k.snapshotRecords().map((r) => r.key)).toEqual(['legacy', 'own', 'theirs'])
  })

  it('past the cap, the oldest records go first, own and learnt alike (a retry of a dropped key is applied again)', () => {
    const k = keyed(3)
    for (let i = 1; i <= 4; i++) k.settle(k.recordFor(`k${i}`, inc('c'), i, i, 1))
    expect(k.answers).toBe(3)
    expect(outcome(k, 'k1', inc('c'))).toEqual({ kind: 'apply' })
    expect(outcome(k, 'k4', inc('c'))).toEqual({ kind: 'repeat', answer: { name: 'c', value: 4 } })
  })
})
