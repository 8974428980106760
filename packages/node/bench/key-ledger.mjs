// The key ledger on its own: loading KEYS key records (one replica's, as a
// restart loads them: KeyLedger.addAll in pieces of 4 096), the time it takes
// and the memory the ledger adds per record on top of the records themselves
// (heapUsed plus arrayBuffers, where typed arrays live, after a full
// collection, records allocated before the first
// reading). BENCH_BASE_DIST=<another build's packages/node/dist>: that build's
// ledger loaded in turn with this one's, in the same process, RUNS times each.
//
// Then a burst: KEYS records learnt, every one of them expired, and KEYS / 100
// new ones learnt: the memory (heap and array buffers) the ledger still holds (what a burst of keys
// leaves behind once it has expired), per build, RUNS times.
//
// Usage (after npm run build), from packages/node:
//   node --expose-gc bench/key-ledger.mjs        env: KEYS (300000), RUNS (7)
import { fileURLToPath } from 'node:url'
import { keyRecordsOf } from './lib.mjs'

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
const KEYS = Number(process.env.KEYS ?? 300_000)
const RUNS = Number(process.env.RUNS ?? 7)
const here = fileURLToPath(new URL('../dist', import.meta.url))
const builds = [['this', here]]
if (process.env.BENCH_BASE_DIST) builds.push(['base', process.env.BENCH_BASE_DIST])
const ledgers = {}
for (const [name, dist] of builds)
  ledgers[name] = (await import(`${dist}/idempotency/key-ledger.js`)).KeyLedger

const replica = 'bench.1838381891282792'
const records = () => keyRecordsOf(KEYS, replica)
const collect = () => {
  globalThis.gc()
  globalThis.gc()
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const out = Object.fromEntries(builds.map(([name]) => [name, { ms: [], bytesPerRecord: [] }]))
const used = () => {
  const u = process.memoryUsage()
  return u.heapUsed + u.arrayBuffers
}
for (let r = 0; r < RUNS; r++) {
  for (const [name] of r % 2 === 0 ? builds : [...builds].reverse()) {
    let recs = records()
    collect()
    const h0 = used()
    const t0 = performance.now()
    let ledger = new ledgers[name]({ ttlMs: 86_400_000, maxRecords: KEYS * 2 })
    for (let i = 0; i < KEYS; i += 4096) ledger.addAll(recs.slice(i, i + 4096))
    out[name].ms.push(performance.now() - t0)
    collect()
    out[name].bytesPerRecord.push((used() - h0) / KEYS)
    if (ledger.size !== KEYS || ledger.since(replica, KEYS - 5).length !== 5)
      throw new Error(`${name}: wrong ledger`)
    ledger = null
    recs = null
  }
}
for (const [name] of builds)
  console.log(
    `key ledger (${name})`.padEnd(20),
    JSON.stringify({
      keys: KEYS,
      addAllMsMedian: Math.round(median(out[name].ms)),
      bytesPerRecordMedian: Math.round(median(out[name].bytesPerRecord)),
      bytesPerRecord: out[name].bytesPerRecord.map(Math.round),
    }),
  )
// The burst: heap held after every record of it expired and a hundredth as many came after.
const burst = Object.fromEntries(builds.map(([name]) => [name, { peakBytesPerRecord: [], afterMB: [] }]))
for (let r = 0; r < RUNS; r++) {
  for (const [name] of r % 2 === 0 ? builds : [...builds].reverse()) {
    let now = Date.now()
    collect()
    const h0 = process.memoryUsage()
    const base = h0.heapUsed + h0.arrayBuffers
    let recs = records()
    const held = () => {
      collect()
      const u = process.memoryUsage()
      return u.heapUsed + u.arrayBuffers - base
    }
    const withRecords = held()
    let ledger = new ledgers[name]({ ttlMs: 1000, maxRecords: KEYS * 2, now: () => now })
    for (let i = 0; i < KEYS; i += 4096) ledger.addAll(recs.slice(i, i + 4096))
    burst[name].peakBytesPerRecord.push((held() - withRecords) / KEYS)
    recs = null
    now += 2000
    ledger.expire()
    const later = keyRecordsOf(KEYS / 100, replica).map((x) => ({ ...x, key: `later-${x.key}`, at: now }))
    ledger.addAll(later)
    if (ledger.size !== later.length) throw new Error(`${name}: wrong ledger after the burst`)
    burst[name].afterMB.push(held() / 1e6)
    ledger = null
  }
}
for (const [name] of builds)
  console.log(
    `burst (${name})`.padEnd(20),
    JSON.stringify({
      keys: KEYS,
      peakBytesPerRecordMedian: Math.round(median(burst[name].peakBytesPerRecord)),
      heldAfterExpiryMBMedian: Number(median(burst[name].afterMB).toFixed(1)),
    }),
  )
console.log(
  `loadavg ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
)
