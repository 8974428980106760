// The node's own CPU per write, without HTTP: `TallyNode.mutate` in one
// process (a LevelStore in a temp dir, no peers), `conc` writes at a time
// until each is durable, CPU time (user + system) of the process per write.
// Less sensitive to a loaded machine than a run over sockets (no client
// sharing the cores, no wake-ups), and it isolates what the node adds to an
// HTTP route: apply, the write fence, group commit, the log row, the key
// table and ledger for keyed writes. Rounds alternate between builds when
// BENCH_COMPARE_NODE_DIST=<another build's packages/node/dist> is set (e.g.
// the commit before a change); medians per build, and the median of the
// ratios taken within each round (`perRound`).
//
// Usage: node bench/write-cpu.mjs [durability=async] [rounds=8] [writesPerRound=30000] [conc=100]

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

const [durability = 'async', roundsArg = '8', perRound = '30000', concArg = '100'] = process.argv.slice(2)
const rounds = Number(roundsArg)
const conc = Number(concArg)
const waves = Math.max(1, Math.round(Number(perRound) / conc))
const builds = { this: fileURLToPath(new URL('../dist', import.meta.url)) }
if (process.env.BENCH_COMPARE_NODE_DIST) builds.compared = process.env.BENCH_COMPARE_NODE_DIST

async function open(dist) {
  const { TallyNode } = await import(`${dist}/node.js`)
  const { LevelStore } = await import(`${dist}/storage/level-store.js`)
  const { MemoryNetwork, MemoryTransport } = await import(`${dist}/wire/memory-transport.js`)
  const dir = mkdtempSync(join(tmpdir(), 'tally-write-cpu-'))
  const logger = pino({ level: 'silent' })
  const node = await TallyNode.start({
    id: 'w',
    store: new LevelStore({ dataDir: dir, durability, logger }),
    transport: new MemoryTransport(new MemoryNetwork(), 'w:1'),
    logger,
  })
  return { node, dir }
}

let next = 0
// CPU µs per write of one round of `waves` × `conc` writes.
async function round(node, keyed) {
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const r1 = (x) => Math.round(x * 10) / 10
const names = Object.keys(builds)
const open_ = {}
for (const b of names) open_[b] = await open(builds[b])
const us = Object.fromEntries(names.map((b) => [b, { unkeyed: [], keyed: [] }]))
// Warm-up round per build and kind, not counted.
for (const b of names) for (const keyed of [false, true]) await round(open_[b].node, keyed)
for (let i = 0; i < rounds; i++)
  for (const b of i % 2 === 0 ? names : [...names].reverse()) {
    us[b].unkeyed.push(await round(open_[b].node, false))
    us[b].keyed.push(await round(open_[b].node, true))
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
console.log(JSON.stringify(out))
for (const b of names) {
  await open_[b].node.stop()
  rmSync(open_[b].dir, { recursive: true, force: true })
}
