// Benchmarks for @tally/crdt, run against the built dist/ (`npm run bench -w @tally/crdt`
// builds first). Every figure is the median of several timed runs; the
// O(1) digest is reported as a ratio against a naive full-walk digest
// measured in the same run. Machines are noisy: compare ratios, not absolutes.
import { existsSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

const dist = new URL('../dist/index.js', import.meta.url)
if (!existsSync(dist)) {
  console.error('dist/ is missing: run `npm run build` first (npm run bench -w @tally/crdt builds it).')
  process.exit(1)
}
const { CounterMap } = await import(dist.href)
const { hashString, mixNumber, formatDigest } = await import(new URL('../dist/hash.js', import.meta.url).href)

// msgpackr is a dependency of @tally/node hoisted to the root node_modules; the bench
// uses it only to size the wire format. It is not a dependency of this package.
// variableMapSize: without it msgpackr refuses objects of more than 65535 keys
// (a state with more than 65535 counters).
let msgpack = null
try {
  const { Packr } = await import('msgpackr')
  msgpack = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })
} catch {
  console.warn('msgpackr not installed: msgpack rows skipped')
}

const REPLICAS = 5
const SIZES = (process.env.BENCH_SIZES ?? '1,1000,100000').split(',').map(Number)
const RUNS = Number(process.env.BENCH_RUNS ?? 7)

/** Median time per call of `fn` in ms: RUNS batches, each long enough (>= 20 ms) to be measurable. */
function time(fn) {
  let reps = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < reps; i++) fn()
    const dt = performance.now() - t0
    if (dt >= 20 || reps >= 1 << 20) break
    reps *= 4
  }
  const samples = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    for (let i = 0; i < reps; i++) fn()
    samples.push((performance.now() - t0) / reps)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

/** Median time of `fn(target)` on targets made fresh (untimed) by `make`, `perRun` targets per run. */
function timeFresh(make, fn, perRun) {
  const samples = []
  for (let r = 0; r < RUNS; r++) {
    const targets = Array.from({ length: perRun }, make)
    const t0 = performance.now()
    for (const t of targets) fn(t)
    samples.push((performance.now() - t0) / perRun)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

// The baseline a digest without incremental upkeep would need: walk every entry.
function naiveDigest(state) {
  let h1 = 0
  let h2 = 0
  let count = 0
  for (const name in state.counters) {
    const byReplica = state.counters[name]
    for (const r in byReplica) {
      const [p, n, seq] = byReplica[r]
      const h = mixNumber(mixNumber(mixNumber(hashString(`${name}\u0000${r}`), p), n), seq)
      h1 = (h1 + h.h1) >>> 0
      h2 = (h2 + h.h2) >>> 0
      count++
    }
  }
  return formatDigest(count, { h1, h2 })
}

function fmt(ms) {
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`
  if (ms < 1) return `${(ms * 1e3).toFixed(1)} µs`
  return `${ms.toFixed(1)} ms`
}

function build(n) {
  const maps = Array.from({ length: REPLICAS }, (_, i) => new CounterMap(`node-${i + 1}.1`))
  // Every replica touches every counter: n names × 5 replicas entries.
  for (const m of maps) for (let c = 0; c < n; c++) m.increment(`tenant-${c}`, 1 + (c % 97))
  const full = new CounterMap('observer')
  for (const m of maps) full.merge(m.state())
  return { maps, full }
}

const rows = []
const row = (size, op, ms, note = '') => {
  rows.push({ size, op, ms, note })
  console.log(`${String(size).padStart(6)}  ${op.padEnd(44)} ${fmt(ms).padStart(10)}  ${note}`)
}

console.log(`node ${process.version}, ${REPLICAS} replicas, median of ${RUNS} runs\n`)
for (const n of SIZES) {
  const { maps, full } = build(n)
  const state = full.state()
  const entries = n * REPLICAS

  // Digest: incremental O(1) vs a naive walk of the same state.
  const tDigest = time(() => full.digest())
  const tNaive = time(() => naiveDigest(state))
  if (naiveDigest(state) === '') throw new Error('unreachable')
  row(
    n,
    'digest() (incremental)',
    tDigest,
    `naive full walk ${fmt(tNaive)}: ${(tNaive / tDigest).toFixed(0)}× faster`,
  )

  // Anti-entropy when in sync: equal digests, and an empty deltaSince.
  const peer = CounterMap.fromState('peer', state)
  const peerSummary = peer.summary()
  const tSinceSync = time(() => full.deltaSince(peerSummary))
  row(
    n,
    'deltaSince(in-sync summary)',
    tSinceSync,
    `${JSON.stringify(full.deltaSince(peerSummary)).length} B`,
  )

  // After k = 100 new operations on one replica.
  const writer = maps[0]
  writer.merge(state)
  const before = writer.summary()
  for (let k = 0; k < 100; k++) writer.increment(`tenant-${(k * 7919) % n}`)
  const delta = writer.deltaSince(before)
  const tSince = time(() => writer.deltaSince(before))
  const deltaBytes = JSON.stringify(delta).length
  const stateBytes = JSON.stringify(state).length
  row(n, 'deltaSince(summary) after 100 ops', tSince, `${deltaBytes} B vs full state ${stateBytes} B`)

  const tApplyDup = time(() => peer.applyDelta(delta))
  const tApplyNew = timeFresh(
    () => CounterMap.fromState('p2', state),
    (m) => m.applyDelta(delta),
    n >= 100_000 ? 1 : 20,
  )
  row(n, 'applyDelta(100-op delta), new', tApplyNew)
  row(n, 'applyDelta(100-op delta), duplicate', tApplyDup, 'idempotent re-delivery')

  // Full-state merge (the expensive path anti-entropy avoids) and serialisation.
  const tMergeNew = time(() => CounterMap.fromState('x', state))
  row(n, 'fromState(full state)', tMergeNew, `${entries} entries`)
  const tMergeSame = time(() => full.merge(state))
  row(n, 'merge(full state), nothing new', tMergeSame)
  const tState = time(() => full.state())
  row(n, 'state()', tState)
  const tJson = time(() => JSON.stringify(state))
  row(n, 'JSON.stringify(state)', tJson, `${stateBytes} B`)
  const json = JSON.stringify(state)
  const tJsonParse = time(() => JSON.parse(json))
  row(n, 'JSON.parse(state)', tJsonParse)
  if (msgpack) {
    const packed = msgpack.pack(state)
    const tPack = time(() => msgpack.pack(state))
    row(
      n,
      'msgpackr pack(state)',
      tPack,
      `${packed.length} B (${((packed.length / stateBytes) * 100).toFixed(0)}% of JSON)`,
    )
    const tUnpack = time(() => msgpack.unpack(packed))
    row(n, 'msgpackr unpack(state)', tUnpack)
    const round = CounterMap.fromState('rt', msgpack.unpack(packed))
    if (round.digest() !== CounterMap.fromState('rt', state).digest())
      throw new Error('msgpack round trip changed the state')
  }
  console.log('')
}
