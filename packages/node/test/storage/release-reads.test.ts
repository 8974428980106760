// After recovery the store reopens its database (LevelStore.afterRecovery,
// release-reads.ts) so that LevelDB unmaps the table files the snapshot read
// mapped. The reopened store holds the same state and goes on working; a
// reopen that fails refuses the start with the store's own error.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CounterMap } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { Level } from 'level'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { TallyNode } from '../../src/node.js'
import { LevelStore } from '../../src/storage/level-store.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { WalDb } from '../../src/storage/wal-db.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { silent } from '../support/sim.js'
import { Driver } from '../support/store-driver.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const BOOT = 'boot-A'
const hasProcMaps = existsSync('/proc/self/maps')

/** LevelDB table files of `dataDir` this process has mapped (from /proc/self/maps). */
function mappedTables(dataDir: string): Set<string> {
  const prefix = `${join(dataDir, 'db')}/`
  const out = new Set<string>()
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const at = line.indexOf(prefix)
    if (at >= 0 && line.endsWith('.ldb')) out.add(line.slice(at))
  }
  return out
}

/** A map of `n` counters with entries of three replicas (this one's and two peers'). */
function threeReplicas(n: number): CounterMap {
  const map = new CounterMap('n1.1')
  const peers = [new CounterMap('p1.1'), new CounterMap('p2.1')]
  for (let i = 0; i < n; i++) {
    map.increment(`counter-${i}`, 1 + (i % 9))
    for (const p of peers) p.increment(`counter-${i}`, 1 + (i % 5))
  }
  for (const p of peers) map.applyDelta(p.deltaFor(p.replica, 0))
  return map
}

/** A memory-level database whose `open` fails from the `failFrom`-th call on (1-based). */
function flakyOpen(failFrom: number): { db: WalDb; opens: () => number } {
  const inner = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  const db = inner as unknown as WalDb
  let opens = 0
  const flaky: WalDb = {
    open: () => (++opens >= failFrom ? Promise.reject(new Error('EIO: disk on fire')) : inner.open()),
    close: () => inner.close(),
    get: (k) => db.get(k),
    put: (k, v, o) => db.put(k, v, o),
    batch: (ops, o) => db.batch(ops, o),
    clear: (r) => db.clear(r),
    iterator: (r) => db.iterator(r),
    keys: (r) => db.keys(r),
  }
  return { db: flaky, opens: () => opens }
}

describe('LevelStore.afterRecovery', () => {
  it.skipIf(!hasProcMaps)(
    'unmaps the tables the snapshot read (needs /proc/self/maps); the state is the same after the reopen and the store goes on',
    async () => {
      const dir = await tempDir(cleanup, 'tally-release-')
      const first = await Driver.open(new LevelStore({ dataDir: dir, bootId: BOOT }))
      first.map.merge(threeReplicas(30_000).state())
      await first.store.snapshot(mapSource(first.map), [])
      for (let i = 0; i < 50; i++) await first.inc(`tail-${i % 7}`)
      const before = first.map.state()
      await first.store.close()

      const store = new LevelStore({ dataDir: dir, bootId: BOOT })
      const again = await Driver.open(store)
      expect(again.map.state()).toEqual(before)
      const mapped = mappedTables(store.dataDir)
      expect(mapped.size).toBeGreaterThan(0)
      await store.afterRecovery()
      const still = [...mappedTables(store.dataDir)].filter((f) => mapped.has(f))
      expect(still).toEqual([])

      // The same handle serves on: reads beside the log, appends, a snapshot, a clean close.
      expect(await store.sharedDb()!.db.get('no-such-key')).toBeUndefined()
      for (let i = 0; i < 20; i++) await again.inc(`after-${i % 3}`)
      await store.snapshot(mapSource(again.map), [])
      await again.inc('after-0', 5)
      const after = again.map.state()
      await store.close()

      const last = await Driver.open(new LevelStore({ dataDir: dir, bootId: BOOT }))
      expect(last.map.state()).toEqual(after)
      // A clean close after the reopen: same incarnation, no warnings.
      expect(last.recovered.identity).toEqual(again.recovered.identity)
      expect(last.recovered.warnings).toEqual([])
      await last.store.close()
    },
  )

  it('a reopen that fails rejects with TALLY_DATA_DIR_UNREADABLE; the store refuses writes and still closes', async () => {
    const dir = await tempDir(cleanup, 'tally-release-')
    const { db, opens } = flakyOpen(2)
    const store = new LevelStore({ dataDir: dir, bootId: BOOT, openDb: () => db })
    const a = await Driver.open(store)
    await a.inc('c', 3)
    await expect(store.afterRecovery()).rejects.toMatchObject({
      code: 'TALLY_DATA_DIR_UNREADABLE',
      message: /disk on fire/,
    })
    expect(opens()).toBe(2)
    await expect(a.inc('c')).rejects.toMatchObject({ code: 'TALLY_DATA_DIR_UNREADABLE' })
    await expect(store.close()).resolves.toBeUndefined()
  })

  it('another process taking the data dir between the close and the open: TALLY_DATA_DIR_LOCKED', async () => {
    const dir = await tempDir(cleanup, 'tally-release-')
    const loc = join(dir, 'db')
    const opts = { keyEncoding: 'utf8', valueEncoding: 'view' } as const
    const inner = new Level<string, Uint8Array>(loc, opts)
    const db = inner as unknown as WalDb
    let closes = 0
    const racing: WalDb = {
      open: () => inner.open(),
      // The lock is free between our close and our open: another opener takes it there. (Made
      // only then: a Level opens itself on the next tick after it is constructed.)
      close: async () => {
        await inner.close()
        if (++closes !== 1) return
        const intruder = new Level<string, Uint8Array>(loc, opts)
        cleanup.add(() => intruder.close())
        await intruder.open()
      },
      get: (k) => db.get(k),
      put: (k, v, o) => db.put(k, v, o),
      batch: (ops, o) => db.batch(ops, o),
      clear: (r) => db.clear(r),
      iterator: (r) => db.iterator(r),
      keys: (r) => db.keys(r),
    }
    const store = new LevelStore({ dataDir: dir, bootId: BOOT, openDb: () => racing })
    await Driver.open(store)
    await expect(store.afterRecovery()).rejects.toMatchObject({ code: 'TALLY_DATA_DIR_LOCKED' })
    await store.close()
  })
})

describe('TallyNode.start', () => {
  it('refuses to start when the store cannot reopen after recovery, and releases the store', async () => {
    const dir = await tempDir(cleanup, 'tally-release-')
    const { db } = flakyOpen(2)
    const store = new LevelStore({ dataDir: dir, bootId: BOOT, openDb: () => db })
    const transport = new MemoryTransport(new MemoryNetwork(1), 'n1:1')
    const start = TallyNode.start({ id: 'n1', store, transport, logger: silent, peers: [] })
    await expect(start).rejects.toMatchObject({ code: 'TALLY_DATA_DIR_UNREADABLE', message: /disk on fire/ })
    // Released: appends are refused as on a closed store, and close has nothing left to do.
    await expect(store.appendLocal({ ranges: [], entries: [] })).rejects.toMatchObject({
      code: expect.stringMatching(/^TALLY_/),
    })
    await expect(store.close()).resolves.toBeUndefined()
  })
})
