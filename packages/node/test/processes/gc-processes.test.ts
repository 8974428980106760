// A real tally-node process collects a deleted counter (--gc-grace-ms), and
// neither a crash (log replay) nor a clean restart (snapshot) brings it
// back; written again, it counts from 0. Seen through the HTTP API and
// /metrics, as an operator would.

import { join } from 'node:path'
import {
  Cleanup,
  http,
  killProc,
  NODE_BIN,
  requireBuilt,
  startTallyNode,
  stopProc,
  type TallyNodeProc,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

/** The value of an unlabelled series in the node's /metrics text. */
async function metric(p: TallyNodeProc, name: string): Promise<number> {
  const res = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1))
}

async function start(dataDir: string): Promise<TallyNodeProc> {
  const p = await startTallyNode(cleanup, 'g1', dataDir, ['--gc-grace-ms', '1000', '--durability', 'sync'])
  await waitHealthy(p)
  return p
}

describe('garbage collection in a real process', () => {
  it('a collected counter stays gone across a crash and a clean restart, and counts from 0 when written again', async () => {
    requireBuilt(NODE_BIN)
    const dataDir = join(await tempDir(cleanup, 'tally-gc-'), 'g1')
    let p = await start(dataDir)
    for (const [name, amount] of [
      ['gone', 5],
      ['kept', 1],
    ] as const)
      expect((await http(`${p.url}/counters/${name}/increment`, 'POST', { amount })).status).toBe(200)
    expect((await http(`${p.url}/counters/gone`, 'DELETE')).body).toEqual({
      name: 'gone',
      deleted: true,
      value: 0,
    })
    expect(await metric(p, 'tally_counters')).toBe(2) // deleted, not collected yet
    await until(async () => (await metric(p, 'tally_counters_collected_total')) === 1, {
      what: 'gone collected',
      timeoutMs: 30_000,
    })
    expect(await metric(p, 'tally_counters')).toBe(1)

    await killProc(p) // the log replays the drop
    p = await start(dataDir)
    expect(await metric(p, 'tally_counters')).toBe(1)
    expect(await metric(p, 'tally_counters_collected_total')).toBe(0) // since start
    expect((await http(`${p.url}/counters`)).body).toEqual({ counters: [{ name: 'kept', value: 1 }] })

    await stopProc(p) // a clean stop; the next start reads the snapshot
    p = await start(dataDir)
    expect(await metric(p, 'tally_counters')).toBe(1)
    expect((await http(`${p.url}/counters/gone/increment`, 'POST', { amount: 2 })).body).toEqual({
      name: 'gone',
      value: 2,
    })
    await stopProc(p)
    p = await start(dataDir)
    expect((await http(`${p.url}/counters/gone`)).body).toEqual({ name: 'gone', value: 2 })
    expect(await metric(p, 'tally_counters')).toBe(2)
  })

  it('refuses a bad --gc-grace-ms with a clear message', async () => {
    requireBuilt(NODE_BIN)
    const dataDir = join(await tempDir(cleanup, 'tally-gc-'), 'g2')
    const p = await startTallyNode(cleanup, 'g2', dataDir, ['--gc-grace-ms', '5'])
    expect(await p.exited).not.toBe(0)
    expect(p.output()).toMatch(/gc-grace-ms/)
  })
})
