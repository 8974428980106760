// Young-generation collections while the counters are rebuilt (recovery-gc.ts):
// the collector is found in a running process without --expose-gc, leaves
// no `gc` to contexts made later, and rebuildCounters calls it every so many
// slices without changing the map it builds.
import { runInNewContext } from 'node:vm'
import { CounterMap, type CounterMapState } from '@tally/crdt'
import { describe, expect, it } from 'vitest'
import { COLLECT_EVERY_SLICES, rebuildCounters } from '../../src/storage/recovery.js'
import { minorCollection } from '../../src/storage/recovery-gc.js'
import type { Recovered, RecoveredSlice } from '../../src/storage/store.js'

function recovered(slices: RecoveredSlice[], vv: CounterMapState['vv']): Recovered {
  return {
    identity: { nodeId: 'n', incarnation: 1, replicaId: 'n.1' },
    state: { vv, counters: {} },
    slices: async function* () {
      yield* slices
    },
    deltas: [],
    idempotency: [],
    warnings: [],
  }
}

describe('minorCollection', () => {
  it('finds a collector (in a process started without --expose-gc too), runs it, and leaves no gc to later contexts', () => {
    // Started with --expose-gc (e.g. NODE_OPTIONS), the process's own gc is used and later contexts keep theirs.
    const launchedWithGc = typeof (globalThis as { gc?: unknown }).gc === 'function'
    const collect = minorCollection()
    expect(collect).toBeTypeOf('function')
    expect(collect?.()).toBeUndefined()
    expect(collect?.()).toBeUndefined()
    expect(minorCollection()).toBeTypeOf('function')
    expect(runInNewContext('typeof gc')).toBe(launchedWithGc ? 'function' : 'undefined')
  })
})

describe('rebuildCounters with a collector', () => {
  it(`calls it every ${COLLECT_EVERY_SLICES} slices (or as asked) and builds the same map as without one`, async () => {
    const src = new CounterMap('a.1')
    for (let i = 0; i < 20_000; i++) src.increment(`c-${i}`, 1 + (i % 7))
    const slices: RecoveredSlice[] = []
    for (let from = 0; from < src.counterNumbers; ) {
      const { columns, next } = src.packedColumns(from, 100)
      slices.push({ packed: columns })
      from = next
    }
    expect(slices.length).toBeGreaterThan(3 * COLLECT_EVERY_SLICES)
    let calls = 0
    const withDefault = await rebuildCounters(recovered(slices, src.summary()), { collect: () => calls++ })
    expect(calls).toBe(Math.floor(slices.length / COLLECT_EVERY_SLICES))
    calls = 0
    const every7 = await rebuildCounters(recovered(slices, src.summary()), {
      collect: () => calls++,
      collectEvery: 7,
    })
    expect(calls).toBe(Math.floor(slices.length / 7))
    const plain = await rebuildCounters(recovered(slices, src.summary()))
    for (const built of [withDefault, every7, plain]) {
      expect(built.skipped).toBe(0)
      expect(built.map.digest()).toBe(src.digest())
    }
    // The real collector, as the node passes it.
    const real = await rebuildCounters(recovered(slices, src.summary()), {
      collect: minorCollection(),
      collectEvery: 5,
    })
    expect(real.map.state()).toEqual(src.state())
  })
})
