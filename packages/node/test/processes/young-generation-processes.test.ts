// --young-generation in a real tally-node process, seen as an operator
// sees it: V8's young-generation size in /metrics (prom-client's
// nodejs_heap_space_size_total_bytes{space="new"}) after a few thousand
// writes. A cap (8 MiB by default) lets it grow up to the cap while the node
// is busy (pipelined RESP INCRs keep its event loop busy), and not past it;
// `small` keeps it at the size it has once started; `v8` lets V8 grow it as
// it would.

import { connect } from 'node:net'
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

/**
 * Keeps the node busy: `rounds` pipelines of 5 000 RESP INCRs of distinct
 * counters on one connection, each sent in one write once the previous
 * one's replies are all in. Resolves with the number of replies.
 */
function busy(p: TallyNodeProc, rounds: number): Promise<number> {
  const batch = 5_000
  return new Promise((resolve, reject) => {
    const sock = connect(p.resp, '127.0.0.1')
    let replies = 0
    let round = 0
    const send = () => {
      let out = ''
      for (let i = 0; i < batch; i++) {
        const key = `b-${round}-${i}`
        out += `*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`
      }
      round++
      sock.write(out)
    }
    sock.on('error', reject)
    sock.on('connect', send)
    sock.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) if (d[i] === 0x0a) replies++
      if (replies < round * batch) return
      if (round < rounds) send()
      else {
        sock.end()
        resolve(replies)
      }
    })
  })
}

async function start(extra: string[]): Promise<TallyNodeProc> {
  const dir = await tempDir(cleanup, 'tally-young-')
  const p = await startTallyNode(cleanup, 'y1', join(dir, 'y1'), [
    '--durability',
    'async',
    '--resp-port',
    'any',
    ...extra,
  ])
  await waitHealthy(p)
  return p
}

/** The young generation's size once a node started with `extra` serves, and after 200 000 pipelined INCRs and 3 000 HTTP writes. */
async function underLoad(extra: string[]): Promise<{ started: number; bytes: number }> {
  requireBuilt(NODE_BIN)
  const p = await start(extra)
  const started = await newSpaceBytes(p)
  expect(await busy(p, 40)).toBe(200_000)
  await writes(p)
  return { started, bytes: await newSpaceBytes(p) }
}

describe('--young-generation in a real process', () => {
  it('by default it grows past the size it started with while the node is busy, up to 8 MiB and no further', async () => {
    const { started, bytes } = await underLoad([])
    expect(started).toBeGreaterThan(0)
    expect(bytes).toBeGreaterThan(started)
    expect(bytes).toBeLessThanOrEqual(8 * MiB)
  })

  it('--young-generation small keeps the size it started with (≤ 4 MiB) under the same load', async () => {
    const { started, bytes } = await underLoad(['--young-generation', 'small'])
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThanOrEqual(started)
    expect(bytes).toBeLessThanOrEqual(4 * MiB)
  })

  it('--young-generation 16 lets it grow while the node is busy, up to 16 MiB and no further', async () => {
    const { started, bytes } = await underLoad(['--young-generation', '16'])
    expect(bytes).toBeGreaterThan(started)
    expect(bytes).toBeLessThanOrEqual(16 * MiB)
  })

  it('--young-generation v8 leaves V8 to grow it past 4 MiB', async () => {
    requireBuilt(NODE_BIN)
    const p = await start(['--young-generation', 'v8'])
    await writes(p)
    expect(await newSpaceBytes(p)).toBeGreaterThan(4 * MiB)
  })
})
