// --young-generation in a real tally-node process, seen as an operator
// sees it: V8's young-generation size in /metrics (prom-client's
// nodejs_heap_space_size_total_bytes{space="new"}) after a few thousand
// writes. `small` (the default) keeps it at V8's initial size; `v8` lets V8
// grow it as it would.

import { join } from 'node:path'
import {
  Cleanup,
  NODE_BIN,
  requireBuilt,
  startTallyNode,
  type TallyNodeProc,
  tempDir,
  waitHealthy,
} from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const MiB = 2 ** 20

/** Bytes V8 has reserved for the young generation (both semi-spaces), from /metrics. */
async function newSpaceBytes(p: TallyNodeProc): Promise<number> {
  const res = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const series = 'nodejs_heap_space_size_total_bytes{space="new"} '
  const line = (await res.text()).split('\n').find((l) => l.startsWith(series))
  return line === undefined ? Number.NaN : Number(line.slice(series.length))
}

/** 3 000 increments of distinct counters, 10 at a time (allocation pressure: what makes V8 grow it). */
async function writes(p: TallyNodeProc): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < 3_000) {
        const res = await fetch(`${p.url}/counters/c-${next++}/increment`, {
          method: 'POST',
          signal: AbortSignal.timeout(10_000),
        })
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
    }),
  )
}

async function start(extra: string[]): Promise<TallyNodeProc> {
  const dir = await tempDir(cleanup, 'tally-young-')
  const p = await startTallyNode(cleanup, 'y1', join(dir, 'y1'), ['--durability', 'async', ...extra])
  await waitHealthy(p)
  return p
}

describe('--young-generation in a real process', () => {
  it('by default the young generation stays at its initial size (≤ 4 MiB) through 3 000 writes', async () => {
    requireBuilt(NODE_BIN)
    const p = await start([])
    await writes(p)
    const bytes = await newSpaceBytes(p)
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThanOrEqual(4 * MiB)
  })

  it('--young-generation v8 leaves V8 to grow it past that', async () => {
    requireBuilt(NODE_BIN)
    const p = await start(['--young-generation', 'v8'])
    await writes(p)
    expect(await newSpaceBytes(p)).toBeGreaterThan(4 * MiB)
  })
})
