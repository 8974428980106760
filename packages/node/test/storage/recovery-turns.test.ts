// Recovery gives the event loop turns while it works: the counters are merged
// a batch of slices at a time with a setImmediate between batches, and the
// key records are decoded a few chunks per turn (Recovered.readIdempotency),
// so a large snapshot never holds the loop in one block. Counted in turns of
// a setImmediate ticker, never in milliseconds.
import { CounterFold, CounterMap } from '@tally/crdt'
import { countTurns } from '@tally/kit/testing'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it, vi } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { encodeBatch, walKey } from '../../src/storage/record-codec.js'
import { recoveredRecords } from '../../src/storage/recovered-records.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { encodeChunk } from '../../src/storage/snapshot-codec.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { IdempotencyRecord, Recovered, RecoveredSlice } from '../../src/storage/store.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { scanWal } from '../../src/storage/wal-scan.js'

const NOW = 1_700_000_000_000

const rec = (i: number): IdempotencyRecord => ({
  key: `key-${i}-0123456789abcdef`,
  name: `c-${i % 5000}`,
  op: 'increment',
  amount: 1,
  value: i,
  at: NOW - 1000 + (i % 100),
  replica: 'r.1',
  seq: i + 1,
  attempt: 1,
})

// Chunks of 1 000 records each: decoding 50 of them is far more than one turn's budget.
const recordChunks = (chunks: number) =>
  Array.from({ length: chunks }, (_, c) =>
    encodeChunk({ records: Array.from({ length: 1000 }, (_, i) => rec(c * 1000 + i)) }),
  )

describe('recovery gives the event loop turns', () => {
  it('readIdempotency decodes the key records over many turns, into the same records the sync read gives', async () => {
    const src = {
      snapshot: [],
      chunks: recordChunks(50),
      logged: [rec(50_000)],
      now: NOW,
      ttl: 10_000,
      badChunk: (i: number, why: string) => new Error(`chunk ${i}: ${why}`),
    }
    const r = recoveredRecords(src)
    const t = countTurns()
    const got = await r.load()
    expect(t.stop()).toBeGreaterThan(3)
    expect(got.length).toBe(50_001)
    expect(got).toEqual(recoveredRecords(src)())
    // Read once: a later sync or async read gives the same array.
    expect(r()).toBe(got)
    expect(await r.load()).toBe(got)
  })

  it('a bad chunk rejects the async read, and every later read throws too (its records are never skipped)', async () => {
    const chunks = recordChunks(30)
    chunks.splice(20, 0, encodeChunk({ packed: new CounterMap('x').packedColumns(0, 1).columns }))
    const r = recoveredRecords({
      snapshot: [],
      chunks,
      logged: [],
      now: NOW,
      ttl: 10_000,
      badChunk: (i, why) => new Error(`chunk ${i}: ${why}`),
    })
    await expect(r.load()).rejects.toThrow(/^chunk 20: /)
    expect(() => r()).toThrow(/^chunk 20: /)
    await expect(r.load()).rejects.toThrow(/^chunk 20: /)
  })

  it('rebuildCounters gives the loop turns between slices handed over without one, and builds the same map', async () => {
    const src = new CounterMap('a.1')
    for (let i = 0; i < 60_000; i++) src.increment(`c-${i}`, 1 + (i % 5))
    const slices: RecoveredSlice[] = []
    for (let from = 0; from < src.counterNumbers; ) {
      const { columns, next } = src.packedColumns(from, 512)
      slices.push({ packed: columns })
      from = next
    }
    // Every slice at once, with no turn of the loop in between (as a batch read from disk is).
    async function* all(): AsyncGenerator<RecoveredSlice> {
      yield* slices
    }
    const recovered: Recovered = {
      identity: { nodeId: 'a', incarnation: 1, replicaId: 'a.1' },
      state: { vv: src.summary(), counters: {} },
      slices: all,
      deltas: [],
      idempotency: [],
      warnings: [],
    }
    const t = countTurns()
    const { map } = await rebuildCounters(recovered)
    expect(t.stop()).toBeGreaterThan(3)
    expect(map.digest()).toBe(src.digest())
  })

  it('rebuildCounters accounts for and merges the log folded after a snapshot at most 512 entries between looks at the clock (its first steps run uncompiled code)', async () => {
    const src = new CounterMap('a.1')
    for (let i = 0; i < 3000; i++) src.increment(`c-${i}`, 1)
    const { columns } = src.packedColumns(0, 10_000)
    // The log after the snapshot: 6 000 more operations of this replica, on old and new counters.
    const fold = new CounterFold()
    const expected = CounterMap.fromState('a.1', src.state())
    for (let i = 0; i < 6000; i++) {
      const name = `c-${(i * 7) % 9000}`
      expected.increment(name, 2)
      const [p, n, seq] = (expected.state([name]).counters[name] ?? {})['a.1'] as [number, number, number]
      fold.put(name, 'a.1', p, n, seq)
    }
    fold.advance('a.1', 3000, 9000)
    const steps: number[] = []
    const adopt = vi.spyOn(CounterMap, 'adopt').mockImplementation(function (this: unknown, replica, f) {
      adopt.mockRestore()
      const a = CounterMap.adopt(replica, f)
      return {
        step: (max: number) => {
          steps.push(max)
          return a.step(max)
        },
        get map() {
          return a.map
        },
      }
    })
    const sliced = vi.spyOn(CounterMap.prototype, 'packedColumns')
    const recovered: Recovered = {
      identity: { nodeId: 'a', incarnation: 1, replicaId: 'a.1' },
      state: { vv: expected.summary(), counters: {} },
      slices: async function* () {
        yield { packed: columns }
      },
      fold,
      deltas: [],
      idempotency: [],
      warnings: [],
    }
    const { map } = await rebuildCounters(recovered)
    const asked = sliced.mock.calls.map(([, max]) => max)
    sliced.mockRestore()
    expect(map.digest()).toBe(expected.digest())
    expect(map.state()).toEqual(expected.state())
    expect(steps.length).toBeGreaterThan(1)
    expect(Math.max(...steps)).toBeLessThanOrEqual(512)
    expect(asked.length).toBeGreaterThan(1)
    expect(Math.max(...asked)).toBeLessThanOrEqual(512)
  })

  it('scanWal gives the loop turns inside one large chunk (a whole log segment) and applies every batch in order', async () => {
    const rows: Array<[string, Uint8Array]> = []
    for (let i = 1; i <= 20_000; i++) {
      const delta = { ranges: [['a.1', i - 1, i]] as [string, number, number][], entries: [] }
      rows.push([walKey(i), encodeBatch(i, [{ kind: 'local', delta }])])
    }
    async function* one(): AsyncGenerator<Array<[string, Uint8Array]>> {
      yield rows
    }
    let ops = 0
    // The work of each batch applied: enough that 20 000 of them take many budgets.
    const apply = () => {
      ops++
      let x = 0
      for (let k = 0; k < 2000; k++) x += Math.sqrt(k)
      return x > 0 ? null : 'never'
    }
    const t = countTurns()
    const res = await scanWal(one(), 0, apply)
    expect(t.stop()).toBeGreaterThan(3)
    expect(res.last).toBe(20_000)
    expect(ops).toBe(20_000)
  })

  it('a LevelStore recovery offers readIdempotency, which gives the snapshot and log records of the sync read', async () => {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
    const make = () =>
      new LevelStore({
        dataDir: '/nonexistent/mem',
        bootId: 'b',
        now: () => NOW,
        snapshotEveryOps: Number.POSITIVE_INFINITY,
        openDb: () => db as unknown as WalDb,
      })
    const s = make()
    const r = await s.open('n1')
    const m = new CounterMap(r.identity.replicaId)
    m.increment('c', 2)
    await s.snapshot(
      mapSource(m),
      Array.from({ length: 5000 }, (_, i) => ({ ...rec(i), replica: r.identity.replicaId })),
    )
    const before = m.seq
    m.increment('c', 1)
    await s.appendLocal(m.deltaFor(m.replica, before), {
      ...rec(5000),
      replica: r.identity.replicaId,
      seq: m.seq,
    })
    await s.close()
    const again = make()
    const back = await again.open('n1')
    const got = await back.readIdempotency?.()
    expect(got?.length).toBe(5001)
    expect(back.idempotency).toBe(got)
    await again.close()
  })
})
