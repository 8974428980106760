// Durability of real tally-node processes: kill -9 at random moments under
// concurrent load, idempotency across restarts, and a wiped data dir in a
// 3-node cluster. Needs the built bin (run npm run build). `npm run soak -w
// @tally/node` repeats the kill loop many more times (TALLY_SOAK_ROUNDS).
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  Cleanup,
  http,
  killProc,
  NODE_BIN,
  type TallyNodeProc as NodeProc,
  prng,
  requireBuilt,
  startTallyNode,
  stopProc,
  tempDir,
  until,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
const running: NodeProc[] = []
const ROUNDS = Number(process.env.TALLY_SOAK_ROUNDS ?? 20)
const SEED = Number(process.env.TALLY_SEED ?? Date.now() % 1_000_000)
const HAS_BOOT_ID = existsSync('/proc/sys/kernel/random/boot_id')

beforeAll(() => requireBuilt(NODE_BIN))
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => killProc(p)))
})
afterAll(() => cleanup.run())

async function launch(id: string, dataDir: string, extra: string[] = []): Promise<NodeProc> {
  const p = await startTallyNode(cleanup, id, dataDir, extra)
  running.push(p)
  return p
}

async function counterValue(p: NodeProc, name: string): Promise<number> {
  const r = await http(`${p.url}/counters/${name}`)
  if (r.status !== 200) throw new Error(`GET /counters/${name}: ${r.status} ${JSON.stringify(r.body)}`)
  return (r.body as { value: number }).value
}

/**
 * `clients` loops of POST increment until `signal`; counts what was
 * acknowledged and what was attempted. `counts` is live (read it while the
 * load runs); `done` resolves once every loop has stopped.
 */
function load(p: NodeProc, name: string, clients: number, signal: AbortSignal) {
  const out = { acked: 0, attempted: 0, maxAcked: 0 }
  const done = Promise.all(
    Array.from({ length: clients }, async () => {
      while (!signal.aborted) {
        out.attempted++
        try {
          const r = await http(`${p.url}/counters/${name}/increment`, 'POST')
          if (r.status !== 200) continue
          out.acked++
          out.maxAcked = Math.max(out.maxAcked, (r.body as { value: number }).value)
        } catch {
          return // the node is gone
        }
      }
    }),
  ).then(() => out)
  return { counts: out, done }
}

async function killLoop(
  durability: 'sync' | 'async',
  rounds: number,
  seed: number,
  extra: string[] = [],
): Promise<void> {
  const random = prng(seed)
  const dataDir = join(await tempDir(cleanup, 'tally-durability-'), 'n1')
  const flags = ['--durability', durability, ...extra]
  let p = await launch('n1', dataDir, flags)
  const replica = (await waitHealthy(p)).replica
  let before = await counterValue(p, 'k')
  expect(before).toBe(0)
  for (let round = 0; round < rounds; round++) {
    const ctl = new AbortController()
    const work = load(p, 'k', 8, ctl.signal)
    // Kill at a random moment once writes are being acknowledged (a fixed
    // delay alone can end before the first fsync on a loaded machine, and
    // the round would then test nothing).
    await until(() => work.counts.acked > 0, { what: 'the first acknowledged increment', timeoutMs: 30_000 })
    await new Promise((r) => setTimeout(r, Math.floor(random() * 500)))
    await killProc(p)
    ctl.abort()
    const { acked, attempted, maxAcked } = await work.done
    running.splice(0)
    // Restart and read: every acknowledged op is there, at most the in-flight ones on top.
    p = await launch('n1', dataDir, flags)
    const health = await waitHealthy(p)
    const v = await counterValue(p, 'k')
    const where = `round ${round} (seed ${seed}): before=${before} acked=${acked} attempted=${attempted} after=${v}`
    expect(acked, where).toBeGreaterThan(0)
    expect(v, where).toBeGreaterThanOrEqual(before + acked)
    expect(v, where).toBeGreaterThanOrEqual(maxAcked)
    expect(v, where).toBeLessThanOrEqual(before + attempted)
    // Same boot: a process crash loses nothing the OS was handed, so the replica id is kept.
    if (HAS_BOOT_ID) expect(health.replica, where).toBe(replica)
    before = v
  }
  if (extra.includes('--snapshot-interval')) {
    // No snapshot is taken while nothing changed since the last one, and a kill can land
    // right after one: write once so that the timer has something to snapshot.
    expect((await http(`${p.url}/counters/k/increment`, 'POST')).status).toBe(200)
    await until(async () => ((await http(`${p.url}/stats`)).body as { snapshots: number }).snapshots > 0, {
      what: 'a snapshot',
      timeoutMs: 10_000,
    })
  }
}

describe('tally-node durability (processes)', () => {
  it(
    `kill -9 at random moments under concurrent increments (${ROUNDS}x, sync): no acknowledged op is lost`,
    // Snapshots every 100 ms: kills land before, during and after snapshots and log truncation.
    async () => killLoop('sync', ROUNDS, SEED, ['--snapshot-interval', '100']),
    ROUNDS * 6_000 + 30_000,
  )

  it(
    'kill -9 with --durability async: a process crash loses nothing either (same boot)',
    // Snapshots every 100 ms here too: kills land while segment files rotate and are deleted.
    async () =>
      killLoop('async', Math.max(3, Math.floor(ROUNDS / 4)), SEED + 1, ['--snapshot-interval', '100']),
    ROUNDS * 4_000 + 30_000,
  )

  it('a second tally-node on the same data dir exits 1 naming the locked dir', async () => {
    const dataDir = join(await tempDir(cleanup, 'tally-durability-'), 'n1')
    const first = await launch('n1', dataDir)
    await waitHealthy(first)
    const second = await launch('n1', dataDir) // resolves once it has closed: the start is refused
    expect(second.child.exitCode).toBe(1)
    expect(second.output()).toContain(`data dir ${dataDir} is locked`)
    expect(first.alive()).toBe(true)
  }, 60_000)

  it('the same Idempotency-Key 10x concurrently, and again after restarts, counts once', async () => {
    const dataDir = join(await tempDir(cleanup, 'tally-durability-'), 'n1')
    const send = (p: NodeProc) =>
      http(`${p.url}/counters/idem/increment`, 'POST', { amount: 5 }, { 'idempotency-key': 'order-42' })
    let p = await launch('n1', dataDir)
    await waitHealthy(p)
    const first = await Promise.all(Array.from({ length: 10 }, () => send(p)))
    for (const r of first) expect(r).toEqual({ status: 200, body: { name: 'idem', value: 5 } })
    expect(await counterValue(p, 'idem')).toBe(5)

    expect(await stopProc(p, 'SIGTERM', 10_000)).toBe(0) // clean: the key now lives in the snapshot
    p = await launch('n1', dataDir)
    await waitHealthy(p)
    const again = await Promise.all(Array.from({ length: 10 }, () => send(p)))
    for (const r of again) expect(r).toEqual({ status: 200, body: { name: 'idem', value: 5 } })

    await killProc(p) // unclean: the key is recovered from the log
    p = await launch('n1', dataDir)
    await waitHealthy(p)
    expect((await send(p)).body).toEqual({ name: 'idem', value: 5 })
    expect(await counterValue(p, 'idem')).toBe(5)
  }, 90_000)

  it('a wiped data dir in a 3-node cluster: new replica id, the cluster total stays exact', async () => {
    const root = await tempDir(cleanup, 'tally-durability-')
    const n1 = await launch('n1', join(root, 'n1'))
    await waitHealthy(n1)
    const seed = ['--peers', `127.0.0.1:${n1.tcp}`, '--gossip-interval', '100']
    const n2 = await launch('n2', join(root, 'n2'), seed)
    const n3 = await launch('n3', join(root, 'n3'), seed)
    const old = await waitHealthy(n2)
    await waitHealthy(n3)
    let total = 0
    const inc = async (p: NodeProc, amount: number) => {
      const r = await http(`${p.url}/counters/t/increment`, 'POST', { amount })
      expect(r.status).toBe(200)
      total += amount
    }
    for (let i = 0; i < 30; i++) await inc([n1, n2, n3][i % 3]!, i + 1)
    const converged = (nodes: NodeProc[]) =>
      until(
        async () => (await Promise.all(nodes.map((p) => counterValue(p, 't')))).every((v) => v === total),
        { what: `every node at ${total}`, timeoutMs: 30_000 },
      )
    await converged([n1, n2, n3])

    // n2 loses its disk: its old replica's counts live on in n1 and n3.
    await killProc(n2)
    await rm(join(root, 'n2'), { recursive: true, force: true })
    const n2b = await launch('n2', join(root, 'n2'), seed)
    const fresh = await waitHealthy(n2b)
    expect(fresh.replica).not.toBe(old.replica)
    expect(fresh.replica.startsWith('n2.')).toBe(true)
    for (let i = 0; i < 10; i++) await inc(n2b, 100)
    await inc(n1, 7)
    await converged([n1, n2b, n3])
    expect(n1.alive() && n3.alive()).toBe(true)
  }, 120_000)
})
