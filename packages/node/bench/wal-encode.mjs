// What encoding one log batch costs the write path of an async node: the
// segment record (header + checksummed frame) of a batch of K plain local
// writes (no Idempotency-Key), as LevelStore writes it for every group commit
// (`segmentRecordOf`, or `encodeSegmentRecord(encodeBatch(…))` in builds
// before it), in a loop of BATCHES batches, µs per batch; and the same for a
// batch of keyed writes (the general msgpackr path either way, for
// comparison). BENCH_BASE_DIST=<another build's packages/node/dist>: that
// build's encoder timed in turn with this one's, in the same process, RUNS
// rounds, medians.
//
// Usage (after npm run build), from packages/node:
//   node bench/wal-encode.mjs        env: RUNS (7), BATCHES (200000), KS (1,4,10)
import { fileURLToPath } from 'node:url'

const RUNS = Number(process.env.RUNS ?? 7)
const BATCHES = Number(process.env.BATCHES ?? 200_000)
const KS = (process.env.KS ?? '1,4,10').split(',').map(Number)
const here = fileURLToPath(new URL('../dist', import.meta.url))
const builds = [['this', here]]
if (process.env.BENCH_BASE_DIST) builds.push(['base', process.env.BENCH_BASE_DIST])

// The encoder of each build: segmentRecordOf where it exists, else what LevelStore called before it.
const encoders = {}
for (const [name, dist] of builds) {
  const seg = await import(`${dist}/storage/segment-codec.js`)
  const rec = await import(`${dist}/storage/record-codec.js`)
  encoders[name] =
    seg.segmentRecordOf ?? ((seq, ops) => seg.encodeSegmentRecord(seq, rec.encodeBatch(seq, ops)))
}

const replica = 'node-1.1839300157521049'
const plain = (s) => ({
  kind: 'local',
  delta: { ranges: [[replica, s - 1, s]], entries: [[`page-${s % 1000}`, replica, s, 0, s]] },
})
const keyed = (s) => ({
  ...plain(s),
  idem: {
    key: `key-${s}`,
    name: `page-${s % 1000}`,
    op: 'increment',
    amount: 1,
    value: s,
    at: 1_800_000_000_000,
    replica,
    seq: s,
    attempt: 1,
  },
})
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** µs per batch of `encode` over `batches` batches of `ops` (fresh batch numbers). */
function time(encode, ops, batches) {
  let bytes = 0
  const t0 = performance.now()
  for (let i = 0; i < batches; i++) bytes += encode(70_000 + i, ops).length
  const us = ((performance.now() - t0) * 1000) / batches
  if (bytes === 0) throw new Error('nothing encoded')
  return us
}

const cases = [
  ...KS.map((k) => [`plain k=${k}`, Array.from({ length: k }, (_, i) => plain(100_000 + i))]),
  ['keyed k=1', [keyed(100_000)]],
]
const results = {}
for (const [label, ops] of cases) {
  const batches = Math.max(1000, Math.round(BATCHES / ops.length))
  const byBuild = Object.fromEntries(builds.map(([name]) => [name, []]))
  results[label] = byBuild
  for (const [name] of builds) time(encoders[name], ops, batches / 4) // warm-up
  for (let r = 0; r < RUNS; r++)
    for (const [name] of builds) byBuild[name].push(time(encoders[name], ops, batches))
}
for (const [label, byBuild] of Object.entries(results)) {
  const row = Object.fromEntries(
    Object.entries(byBuild).map(([name, xs]) => [`${name}UsPerBatch`, Number(median(xs).toFixed(2))]),
  )
  if (byBuild.base) row.thisVsBase = Number((median(byBuild.this) / median(byBuild.base)).toFixed(2))
  console.log(`wal encode ${label.padEnd(10)}`, JSON.stringify(row))
}
console.log(
  'loadavg',
  (await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' '),
)
