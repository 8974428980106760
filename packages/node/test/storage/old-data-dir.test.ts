import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { rebuildCounters } from '../../src/storage/recovery.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const fixture = fileURLToPath(new URL('../fixtures/data-dir-v1', import.meta.url))
const expectedFile = fileURLToPath(new URL('../fixtures/data-dir-v1-expected.json', import.meta.url))
const fixture2 = fileURLToPath(new URL('../fixtures/data-dir-v2', import.meta.url))
const expectedFile2 = fileURLToPath(new URL('../fixtures/data-dir-v2-expected.json', import.meta.url))

/** A copy of a committed data dir (LevelDB rewrites files on open: never open the fixture itself). */
async function copyFixture(from = fixture): Promise<string> {
  const dir = await tempDir(cleanup, 'tally-old-dir-')
  await cp(from, dir, { recursive: true })
  return dir
}

describe('a data dir written in the first format (whole-state snapshot frame + WAL tail)', () => {
  it('opens with the same replica, counters, summary and idempotency keys, and again after a snapshot in the current format', async () => {
    const expected = JSON.parse(await readFile(expectedFile, 'utf8')) as {
      replicaId: string
      digest: string
      state: unknown
      keys: string[]
    }
    const dir = await copyFixture()
    const store = new LevelStore({ dataDir: dir, bootId: 'fixture-boot', now: () => 1_900_000_000_000 })
    const rec = await store.open('old')
    expect(rec.warnings).toEqual([])
    expect(rec.identity.replicaId).toBe(expected.replicaId)
    const { map } = await rebuildCounters(rec)
    expect(map.state()).toEqual(expected.state)
    expect(map.digest()).toBe(expected.digest)
    expect(rec.idempotency.map((r) => r.key).sort()).toEqual(expected.keys)

    // Migration: the next snapshot is written in the current format and opens the same.
    await store.snapshot(map.state(), rec.idempotency)
    await store.close()
    const again = new LevelStore({ dataDir: join(dir), bootId: 'fixture-boot', now: () => 1_900_000_000_000 })
    const rec2 = await again.open('old')
    expect(rec2.identity.replicaId).toBe(expected.replicaId)
    const { map: map2 } = await rebuildCounters(rec2)
    expect(map2.digest()).toBe(expected.digest)
    expect(rec2.idempotency.map((r) => r.key).sort()).toEqual(expected.keys)
    await again.close()
  })
})

describe('a data dir written in the second format (manifest + msgpack column chunks + WAL tail)', () => {
  it('opens with the same replica, counters, summary and idempotency keys, and again after a snapshot in the current format', async () => {
    const expected = JSON.parse(await readFile(expectedFile2, 'utf8')) as {
      replicaId: string
      digest: string
      size: number
      summary: Record<string, number>
      values: Record<string, number>
      keys: string[]
    }
    const open = async (dir: string) => {
      const store = new LevelStore({ dataDir: dir, bootId: 'fixture-boot', now: () => 1_900_000_000_000 })
      const rec = await store.open('old2')
      expect(rec.warnings).toEqual([])
      expect(rec.identity.replicaId).toBe(expected.replicaId)
      const { map } = await rebuildCounters(rec)
      expect(map.digest()).toBe(expected.digest)
      expect(map.size).toBe(expected.size)
      expect(map.summary()).toEqual(expected.summary)
      for (const [name, value] of Object.entries(expected.values)) expect(map.value(name)).toBe(value)
      expect(rec.idempotency.map((r) => r.key).sort()).toEqual(expected.keys)
      return { store, rec, map }
    }
    const dir = await copyFixture(fixture2)
    const first = await open(dir)
    // Migration: the next snapshot is written in the current format and opens the same.
    await first.store.snapshot(first.map.state(), first.rec.idempotency)
    await first.store.close()
    const second = await open(dir)
    await second.store.close()
  })
})
