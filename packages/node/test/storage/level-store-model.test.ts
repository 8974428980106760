// Model test: random runs of local writes, merged peer deltas, snapshots,
// clean restarts and crashes (store abandoned without close, on the same or a
// "rebooted" machine) against memory-level. After every restart the rebuilt
// state equals the state the node had acknowledged, and a replica id is only
// continued when nothing of it can have been lost.
import { CounterMap } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import fc from 'fast-check'
import { MemoryLevel } from 'memory-level'
import { afterAll, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { Driver } from '../support/store-driver.js'

const cleanup = new Cleanup()
afterAll(() => cleanup.run())

type Cmd =
  | { t: 'inc'; name: string; amount: number; key?: string }
  | { t: 'remote'; name: string; amount: number }
  | { t: 'snapshot' }
  | { t: 'restart' }
  | { t: 'crash'; reboot: boolean }

const name = fc.constantFrom('a', 'b', 'c')
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant('inc' as const), name, amount: fc.integer({ min: 1, max: 50 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('inc' as const),
      name,
      amount: fc.integer({ min: 1, max: 50 }),
      key: fc.constantFrom('k1', 'k2', 'k3'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('remote' as const),
      name,
      amount: fc.integer({ min: 1, max: 50 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), reboot: fc.boolean() }) },
)

// `async` logs to segment files on disk (storage/segment-log.ts): a fresh data dir per run.
describe.each(['sync', 'async'] as const)('LevelStore model (memory-level, %s)', (durability) => {
  it('recovers exactly the acknowledged state through any run of writes, snapshots, restarts and crashes', async () => {
    const shared = await tempDir(cleanup, 'tally-store-')
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 60 }), async (cmds) => {
        const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
        // memory-level keeps nothing on disk; with `sync` the store only creates this (empty) dir.
        const dataDir = durability === 'sync' ? shared : await tempDir(cleanup, 'tally-store-')
        let boot = 'boot-0'
        let clock = 1_000_000
        const make = () =>
          new LevelStore({
            dataDir,
            durability,
            bootId: boot,
            now: () => clock,
            openDb: () => db as unknown as WalDb,
          })
        let d = await Driver.open(make())
        const peer = new CounterMap('peer.1')
        const keys = new Set<string>()
        for (const c of cmds) {
          clock += 10
          if (c.t === 'inc') {
            if (c.key && keys.has(c.key)) continue
            await d.inc(c.name, c.amount, c.key ? { key: c.key, at: clock } : undefined)
            if (c.key) keys.add(c.key)
          } else if (c.t === 'remote') {
            const before = peer.seq
            peer.increment(c.name, c.amount)
            await d.remote(peer.deltaFor('peer.1', before))
          } else if (c.t === 'snapshot') {
            await d.store.snapshot(d.map.state(), d.idem)
          } else {
            const acked = d.map
            const replica = d.recovered.identity.replicaId
            if (c.t === 'restart') await d.store.close()
            else if (c.reboot) boot = `boot-${clock}`
            // A crash abandons the store: no close, the running marker stays.
            d = await Driver.open(make())
            expect(d.map.digest()).toBe(acked.digest())
            expect(d.map.state()).toEqual(acked.state())
            const keep = c.t === 'restart' || !c.reboot
            expect(d.recovered.identity.replicaId === replica).toBe(keep)
            expect(d.recovered.idempotency.map((r) => r.key).sort()).toEqual([...keys].sort())
          }
        }
      }),
      { numRuns: 150 },
    )
  })
})
