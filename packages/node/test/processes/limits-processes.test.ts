// Over-admission measured on real processes: 3 tally-nodes, limit 100 per
// 2 s, 600 hits spread evenly over the nodes within one second (starting at a
// window boundary, so the burst lies in one window) → between 100 and 120
// admitted. Every node answers alone; the excess is what nodes admitted before
// seeing each other's hits (bound: docs/crdt.md, "Over-admission").
// Needs the built bin: run npm run build.

import { join } from 'node:path'
import {
  Cleanup,
  http,
  NODE_BIN,
  type TallyNodeProc as Proc,
  requireBuilt,
  startTallyNode,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeBurstSockets, limitBurst } from '../support/limit-burst.mjs'

const cleanup = new Cleanup()
const procs: Proc[] = []

beforeAll(async () => {
  requireBuilt(NODE_BIN)
  const root = await tempDir(cleanup, 'tally-limits-')
  const first = await startTallyNode(cleanup, 'l1', join(root, 'l1'))
  procs.push(first)
  for (const id of ['l2', 'l3'])
    procs.push(await startTallyNode(cleanup, id, join(root, id), ['--peers', `127.0.0.1:${first.tcp}`]))
  await Promise.all(procs.map((p) => waitHealthy(p)))
  await until(
    async () => {
      const h = await Promise.all(procs.map((p) => http(`${p.url}/health`)))
      return h.every((r) => (r.body as { peers: { live: number } }).peers.live === 2)
    },
    { what: 'every node to see 2 live peers', timeoutMs: 30_000 },
  )
})
afterAll(async () => {
  closeBurstSockets()
  await cleanup.run()
})

describe('rate limits on 3 processes', () => {
  it('600 hits over 3 nodes within 1 s against 100 per 2 s: 100 to 120 admitted', async (ctx) => {
    // A burst that spilled past its window, or went out in clumps because the test process
    // was not scheduled for a while (a momentary rate far above 600/s), does not test the
    // property: it is run again under a new name, at most five times. When no try could be
    // paced (a machine too loaded to send 6 requests every 10 ms), the test is skipped with
    // the measurements as its reason; bench/limits.mjs measures over many runs.
    let r: Awaited<ReturnType<typeof limitBurst>> | undefined
    const tries: string[] = []
    for (let i = 0; i < 5 && !(r?.insideWindow && r.even); i++) {
      r = await limitBurst({
        urls: procs.map((p) => p.url),
        name: `burst-${i}`,
        limit: 100,
        windowMs: 2_000,
        hits: 600,
        spreadMs: 1_000,
      })
      tries.push(`${r.admitted} admitted, max send gap ${r.maxGapMs} ms${r.insideWindow ? '' : ', spilled'}`)
    }
    ctx.skip(
      !(r?.insideWindow && r.even),
      `skipped: the sender could not keep a 10 ms pace in 5 tries on this machine (${tries.join('; ')})`,
    )
    expect(r?.admitted).toBeGreaterThanOrEqual(100)
    expect(r?.admitted).toBeLessThanOrEqual(120)
    expect((r?.admitted ?? 0) + (r?.refused ?? 0)).toBe(600)
  })
})
