// npm run bench -w @tally/node: every node benchmark, one after the other.
// Machines are noisy (shared CPUs): compare ratios within one run, not
// absolute numbers across runs.
import { bandwidth } from './bandwidth.mjs'
import { convergence } from './convergence.mjs'
import { httpBench } from './http.mjs'
import { keyedBench } from './keyed.mjs'
import { respBench } from './resp.mjs'

const quick = process.argv.includes('--quick')
const samples = quick ? 20 : 50
const out = (name, r) => console.log(`${name.padEnd(34)} ${JSON.stringify(r)}`)

out('convergence N=5 (defaults)', await convergence(5, samples))
out('convergence N=15 (defaults)', await convergence(15, samples))
out('convergence N=5 eager push off', await convergence(5, samples, ['--eager-push', 'false']))
out('convergence N=15 eager push off', await convergence(15, samples, ['--eager-push', 'false']))
for (const c of quick ? [1, 10_000] : [1, 10_000, 100_000])
  out(`idle bandwidth ${c} counters`, await bandwidth(c))
out('http increment (sync)', await httpBench(quick ? 3 : 5, 32, 'sync'))
out('http increment (async)', await httpBench(quick ? 3 : 5, 32, 'async'))
out('resp INCR vs redis-server', await respBench(quick ? 30_000 : 100_000, quick ? 1 : 3))
for (const nodes of [1, 3])
  for (const c of [10, 100])
    out(`keyed vs unkeyed, ${nodes} node(s), c=${c}`, await keyedBench(quick ? 3 : 4, c, nodes))
