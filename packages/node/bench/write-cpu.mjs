// The node's own CPU per write, without HTTP: `TallyNode.mutate` in one
// process (a LevelStore in a temp dir, no peers), `conc` writes at a time
// until each is durable, CPU time (user + system) of the process per write.
// Less sensitive to a loaded machine than a run over sockets (no client
// sharing the cores, no wake-ups), and it isolates what the node adds to an
// HTTP route: apply, the write fence, group commit, the log row, the key
// table and ledger for keyed writes. Rounds alternate between builds when
// BENCH_COMPARE_NODE_DIST=<another build's packages/node/dist> is set (e.g.
// the commit before a change); medians per build, and the median of the
// ratios taken within each round (`perRound`). Each build's node runs in a
// child process of its own, which counts only its own CPU: with both nodes
// in one process, a build compared with itself measured up to 1.9× in one
// slot (each round also paid for the other node's background work).
//
// Usage: node bench/write-cpu.mjs [durability=async] [rounds=8] [writesPerRound=30000] [conc=100]

import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

// A child process: one build's node, rounds on request from the parent (IPC).
if (process.argv[2] === '--child') {
  const [, , , dist, durability, concArg, wavesArg] = process.argv
  const conc = Number(concArg)
  const waves = Number(wavesArg)
  const { TallyNode } = await import(`${dist}/node.js`)
  const { LevelStore } = await import(`${dist}/storage/level-store.js`)
  const { MemoryNetwork, MemoryTransport } = await import(`${dist}/wire/memory-transport.js`)
  const dir = mkdtempSync(join(tmpdir(), 'tally-write-cpu-'))
  const logger = pino({ level: 'silent' })
  const node = await TallyNode.start({
    id: 'w',
    // No snapshot by operation count: its CPU would land in whichever round reached the count.
    store: new LevelStore({ dataDir: dir, durability, logger, snapshotEveryOps: Number.POSITIVE_INFINITY }),
    transport: new MemoryTransport(new MemoryNetwork(), 'w:1'),
    logger,
  })
  let next = 0
  // CPU µs per write of one round of `waves` × `conc` writes, this process only.
  const round = async (keyed) => {
    const t0 = process.cpuUsage()
    for (let w = 0; w < waves; w++) {
      const ps = []
      for (let i = 0; i < conc; i++) {
        const key = keyed ? `k-${next++}` : undefined
        ps.push(node.mutate({ name: 'c', op: 'increment', amount: 1, key, consistency: 'one' }))
      }
      await Promise.all(ps)
    }
    const d = process.cpuUsage(t0)
    return (d.user + d.system) / (waves * conc)
  }
  process.on('message', async (msg) => {
    if (msg.stop) {
      await node.stop()
      rmSync(dir, { recursive: true, force: true })
      process.disconnect()
      return
    }
    process.send({ us: await round(msg.keyed) })
  })
  process.send({ ready: true })
} else await parent()

async function parent() {
  const [durability = 'async', roundsArg = '8', perRound = '30000', concArg = '100'] = process.argv.slice(2)
  const rounds = Number(roundsArg)
  const conc = Number(concArg)
  const waves = Math.max(1, Math.round(Number(perRound) / conc))
  const builds = { this: fileURLToPath(new URL('../dist', import.meta.url)) }
  if (process.env.BENCH_COMPARE_NODE_DIST) builds.compared = process.env.BENCH_COMPARE_NODE_DIST
  const names = Object.keys(builds)

  // One child process per build, so that each round's CPU is that build's node alone.
  const children = {}
  for (const b of names) {
    const child = fork(fileURLToPath(import.meta.url), [
      '--child',
      builds[b],
      durability,
      String(conc),
      String(waves),
    ])
    const replies = []
    let waiting = null
    child.on('message', (m) => {
      if (waiting) {
        const w = waiting
        waiting = null
        w(m)
      } else replies.push(m)
    })
    const nextReply = () =>
      replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((r) => (waiting = r))
    await nextReply() // ready
    children[b] = {
      child,
      round: async (keyed) => {
        child.send({ keyed })
        return (await nextReply()).us
      },
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const r1 = (x) => Math.round(x * 10) / 10
  const us = Object.fromEntries(names.map((b) => [b, { unkeyed: [], keyed: [] }]))
  // Warm-up round per build and kind, not counted.
  for (const b of names) for (const keyed of [false, true]) await children[b].round(keyed)
  for (let i = 0; i < rounds; i++)
    for (const b of i % 2 === 0 ? names : [...names].reverse()) {
      us[b].unkeyed.push(await children[b].round(false))
      us[b].keyed.push(await children[b].round(true))
    }
  const out = { durability, rounds, writesPerRound: waves * conc, conc }
  for (const b of names)
    out[b] = {
      unkeyedUs: r1(median(us[b].unkeyed)),
      keyedUs: r1(median(us[b].keyed)),
      keyedVsUnkeyedPerRound: Math.round(median(us[b].keyed.map((k, i) => k / us[b].unkeyed[i])) * 100) / 100,
    }
  if (builds.compared)
    out.perRound = {
      unkeyedVsCompared:
        Math.round(median(us.this.unkeyed.map((x, i) => x / us.compared.unkeyed[i])) * 100) / 100,
      keyedVsCompared: Math.round(median(us.this.keyed.map((x, i) => x / us.compared.keyed[i])) * 100) / 100,
    }
  if (process.env.BENCH_RAW) out.raw = us
  console.log(JSON.stringify(out))
  for (const b of names) {
    const exited = new Promise((r) => children[b].child.once('exit', r))
    children[b].child.send({ stop: true })
    await exited
  }
}
