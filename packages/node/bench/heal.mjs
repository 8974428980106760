// Heal time after a partition, on five tally-node processes in their own
// network namespaces (root, ip netns and iptables needed). Each run splits
// {n1,n2} | {n3,n4,n5} with iptables DROP (a black hole) for the given time
// while keyed writes go to both sides, heals, and measures how long until
// every node sees every other live and holds the exact total.
//
//   node packages/node/bench/heal.mjs [durations s, default 7,30,60] [runs each, default 5]

import { netnsUnavailable, startNetnsCluster } from '../test/support/netns-cluster.mjs'
import { percentile } from './lib.mjs'

const durations = (process.argv[2] ?? '7,30,60').split(',').map(Number)
const runs = Number(process.argv[3] ?? 5)
const N = 5
const why = netnsUnavailable()
if (why) {
  console.error(`heal bench needs network namespaces: ${why}`)
  process.exit(1)
}

const c = await startNetnsCluster({ n: N, args: ['--cluster-key', 'heal-bench-key'] })
process.on('SIGINT', () => c.stop().then(() => process.exit(130)))
const all = [...Array(N).keys()]
const liveCount = async (i) =>
  (await c.request(i, 'GET', '/peers')).body.peers.filter((p) => p.state === 'live').length
const value = async (i) => (await c.request(i, 'GET', '/counters/c')).body?.value
const everyone = async (f) => (await Promise.all(all.map((i) => f(i).catch(() => false)))).every(Boolean)
const poll = async (f, ms) => {
  const t0 = Date.now()
  while (!(await f())) {
    if (Date.now() - t0 > ms) return Number.POSITIVE_INFINITY
    await new Promise((r) => setTimeout(r, 25))
  }
  return Date.now() - t0
}

let expected = 0
let seq = 0
async function write(i) {
  const op = seq % 4 === 3 ? 'decrement' : 'increment'
  const amount = 1 + (seq % 7)
  const r = await c.request(
    i,
    'POST',
    `/counters/c/${op}`,
    { amount },
    { 'idempotency-key': `heal-${seq++}` },
  )
  if (r.status !== 200) throw new Error(`write failed: ${r.status} ${JSON.stringify(r.body)}`)
  expected += op === 'increment' ? amount : -amount
}

const results = []
try {
  for (const d of durations) {
    const times = []
    for (let r = 0; r < runs; r++) {
      if (
        (await poll(() => everyone(async (i) => (await liveCount(i)) === N - 1), 60_000)) ===
        Number.POSITIVE_INFINITY
      )
        throw new Error('cluster did not become fully live before the run')
      c.cut([0, 1], [2, 3, 4])
      const end = Date.now() + d * 1000
      let turn = 0
      while (Date.now() < end) {
        await write(turn++ % N)
        await new Promise((res) => setTimeout(res, 100))
      }
      c.heal()
      const ms = await poll(
        () => everyone(async (i) => (await liveCount(i)) === N - 1 && (await value(i)) === expected),
        120_000,
      )
      times.push(ms)
      console.log(`partition ${d} s, run ${r + 1}/${runs}: healed in ${ms} ms`)
    }
    results.push({ d, times })
  }
} finally {
  await c.stop()
}
console.log('\npartition | runs | heal p50 | heal p99 (max) ')
for (const { d, times } of results) {
  console.log(
    `${String(d).padStart(7)} s | ${String(times.length).padStart(4)} | ${String(percentile(times, 50)).padStart(5)} ms | ${String(percentile(times, 99)).padStart(5)} ms`,
  )
}
