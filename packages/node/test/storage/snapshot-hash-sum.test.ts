import { CounterMap, type PackedColumns } from '@tally/crdt'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { rebuildCounters } from '../../src/storage/recovery.js'
import { CHUNK_END, CHUNK_PREFIX, decodeChunk, encodeChunk } from '../../src/storage/snapshot-codec.js'
import { withoutPackedNames } from '../../src/storage/snapshot-drops.js'
import { mapSource } from '../../src/storage/snapshot-source.js'
import type { WalDb } from '../../src/storage/wal-db.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const dbs = new Map<string, MemoryLevel<string, Uint8Array>>()
function memStore(dataDir: string): LevelStore {
  return new LevelStore({
    dataDir,
    bootId: 'boot-A',
    openDb: (loc) => {
      let db = dbs.get(loc)
      if (!db) {
        db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
        dbs.set(loc, db)
      }
      return db as unknown as WalDb
    },
  })
}

/** Rewrites every packed chunk of the store in `dir` through `edit`; returns how many there were. */
async function editChunks(dir: string, edit: (c: PackedColumns) => PackedColumns): Promise<number> {
  const db = dbs.get(`${dir}/db`) as unknown as WalDb
  await db.open()
  const it = db.iterator({ gte: CHUNK_PREFIX, lt: CHUNK_END })
  const rows: Array<[string, Uint8Array]> = []
  for (let got = await it.nextv(100); got.length > 0; got = await it.nextv(100)) rows.push(...got)
  await it.close()
  let n = 0
  for (const [key, value] of rows) {
    const d = decodeChunk(value)
    if (!('packed' in d)) continue
    await db.put(key, encodeChunk({ packed: edit(d.packed) }))
    n++
  }
  await db.close()
  return n
}

function withoutSum(c: PackedColumns): PackedColumns {
  const { hashSum: _, ...rest } = c
  return rest
}

async function rebuilt(dir: string): Promise<CounterMap> {
  const store = memStore(dir)
  const { map } = await rebuildCounters(await store.open('n1'))
  await store.close()
  return map
}

describe('snapshot chunks carry their digest contribution', () => {
  it('a written chunk has it; a restart gives the same state and digest with it and without it (format 3 written before it)', async () => {
    const dir = await tempDir(cleanup, 'tally-hash-sum-')
    const store = memStore(dir)
    const rec = await store.open('n1')
    const m = new CounterMap(rec.identity.replicaId)
    for (let i = 0; i < 5000; i++) m.increment(`c${i}`, 1 + (i % 9))
    m.merge({ vv: {}, counters: { c5: { 'peer.1': [4, 1, 2] }, zz: { 'peer.2': [1, 0, 8] } } })
    await store.snapshot(mapSource(m), [])
    await store.close()
    const sums: unknown[] = []
    expect(
      await editChunks(dir, (c) => {
        sums.push(c.hashSum)
        return c
      }),
    ).toBeGreaterThan(1)
    expect(sums.every((s) => s !== undefined)).toBe(true)
    const fast = await rebuilt(dir)
    expect(fast.digest()).toBe(m.digest())
    await editChunks(dir, withoutSum)
    const slow = await rebuilt(dir)
    expect(slow.digest()).toBe(m.digest())
    expect(slow.state()).toEqual(fast.state())
  })

  it('the sum is taken off the columns when a counter the log dropped is left out of them', () => {
    const m = new CounterMap('r.1')
    for (const name of ['a', 'b', 'c']) m.increment(name, 2)
    const { columns } = m.packedColumns(0, 100)
    expect(withoutPackedNames(columns, new Set())).toBe(columns)
    const kept = withoutPackedNames(columns, new Set(['b'])) as PackedColumns
    expect(kept.hashSum).toBeUndefined()
    const copy = new CounterMap('r.2')
    copy.mergePacked(kept)
    const want = new CounterMap('r.2')
    want.merge({ vv: {}, counters: { a: { 'r.1': [2, 0, 1] }, c: { 'r.1': [2, 0, 3] } } })
    expect(copy.digest()).toBe(want.digest())
  })
})
