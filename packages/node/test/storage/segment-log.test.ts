import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { keyOf } from '../../src/storage/log-merge.js'
import { walKey } from '../../src/storage/record-codec.js'
import { PIECE_RECORDS, SegmentLog } from '../../src/storage/segment-log.js'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

async function logWithFiles(dir: string): Promise<SegmentLog> {
  const log = await SegmentLog.open(dir)
  for (let seq = 1; seq <= 6; seq++) {
    log.append(seq, new Uint8Array([seq]))
    if (seq % 2 === 0) log.rotate()
  }
  return log
}

describe('SegmentLog.dropThrough', () => {
  it('overlapping calls delete each covered file once and neither rejects', async () => {
    const dir = join(await tempDir(cleanup), 'log')
    const log = await logWithFiles(dir)
    expect(await readdir(dir)).toHaveLength(3)
    await Promise.all([log.dropThrough(4), log.dropThrough(4), log.dropThrough(2)])
    expect((await readdir(dir)).length).toBe(1)
  })

  it('a covered file another store over the same directory already deleted counts as deleted', async () => {
    const dir = join(await tempDir(cleanup), 'log')
    await logWithFiles(dir)
    // Two stores over one directory: a crashed one's leftover work and the one opened after it.
    const a = await SegmentLog.open(dir)
    const b = await SegmentLog.open(dir)
    for (const log of [a, b]) for await (const _ of log.entries());
    await a.dropThrough(6)
    await expect(b.dropThrough(6)).resolves.toBeUndefined()
    expect(await readdir(dir)).toEqual([])
  })
})

describe('SegmentLog.entries and cut', () => {
  it('yields chunks of at most PIECE_RECORDS; cut truncates each file at its first cut record, deletes a file cut whole', async () => {
    const dir = join(await tempDir(cleanup), 'log')
    const n = PIECE_RECORDS * 2 + 10
    const w = await SegmentLog.open(dir)
    for (let seq = 1; seq <= n; seq++) w.append(seq, new Uint8Array([seq & 0xff]))
    w.rotate()
    for (let seq = n + 1; seq <= n + 3; seq++) w.append(seq, new Uint8Array([1]))
    w.close()
    const log = await SegmentLog.open(dir)
    const keys: string[] = []
    for await (const chunk of log.entries()) {
      expect(chunk.length).toBeLessThanOrEqual(PIECE_RECORDS)
      for (const e of chunk) keys.push(keyOf(e))
    }
    expect(keys).toEqual(Array.from({ length: n + 3 }, (_, i) => walKey(i + 1)))
    // From batch PIECE_RECORDS + 7 on (in the first file's second piece), through the second file.
    await log.cut(keys.slice(PIECE_RECORDS + 6))
    const again = await SegmentLog.open(dir)
    const left: string[] = []
    for await (const chunk of again.entries()) for (const e of chunk) left.push(keyOf(e))
    expect(left).toEqual(keys.slice(0, PIECE_RECORDS + 6))
    expect(await readdir(dir)).toHaveLength(1)
  })
})
