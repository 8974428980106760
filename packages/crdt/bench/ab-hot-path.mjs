// Interleaved A/B of CounterMap's hot path between two builds of this
// package: N creations and 3·N updates, each followed by the `deltaFor` of
// that operation (the node's write path), CPU time (user + system) per run, median of RUNS runs of each,
// alternated so the machine's load falls on both alike.
//
//   node bench/ab-hot-path.mjs <dist-A> <dist-B>     (env N=200000, RUNS=7)
//
// e.g. build a former commit, copy its dist/ away, build this one, and pass both.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [a, b] = process.argv.slice(2)
if (!a || !b) {
  console.error('usage: node bench/ab-hot-path.mjs <dist-A> <dist-B>')
  process.exit(2)
}
const load = (dir) => import(pathToFileURL(resolve(dir, 'index.js')).href)
const A = await load(a)
const B = await load(b)
const N = Number(process.env.N ?? 200_000)
const RUNS = Number(process.env.RUNS ?? 7)

function run(lib) {
  const m = new lib.CounterMap('node-1.1838381891282792')
  const c0 = process.cpuUsage()
  let entries = 0
  const op = (name) => {
    m.increment(name, 1)
    entries += m.deltaFor(m.replica, m.seq - 1).entries.length
  }
  for (let i = 0; i < N; i++) op(`user:${i}`)
  for (let k = 0; k < 3; k++) for (let i = 0; i < N; i++) op(`user:${(i * 7919) % N}`)
  const u = process.cpuUsage(c0)
  if (entries !== 4 * N) throw new Error('unexpected delta size')
  return (u.user + u.system) / 1000
}

const ra = []
const rb = []
for (let r = 0; r < RUNS; r++) {
  ra.push(run(A))
  rb.push(run(B))
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]
console.log(
  JSON.stringify({
    n: N,
    runs: RUNS,
    cpuMsA: Math.round(med(ra)),
    cpuMsB: Math.round(med(rb)),
    ratioBtoA: Number((med(rb) / med(ra)).toFixed(2)),
  }),
)
