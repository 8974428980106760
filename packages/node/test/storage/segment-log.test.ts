import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { SegmentLog } from '../../src/storage/segment-log.js'

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
