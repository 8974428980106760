// Discovery HTTP throughput, as ratios against GET /health in the same run.
// Usage: npm run bench -w @tally/discovery   (needs a build: npx tsc -b)
// Env: BENCH_SECONDS (default 3), BENCH_RUNS (default 3), BENCH_PEERS (default 1000).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const BIN = fileURLToPath(new URL('../dist/server.js', import.meta.url))
if (!existsSync(BIN)) {
  console.error(`${BIN} missing: run npm run build first`)
  process.exit(1)
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const PEERS = Number(process.env.BENCH_PEERS ?? 1000)

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => resolve(p))
  })
})
const base = `http://127.0.0.1:${port}`
const child = spawn(
  process.execPath,
  [BIN, '--port', String(port), '--ttl', '600000', '--log-level', 'warn'],
  {
    stdio: 'inherit',
  },
)
const stop = () => child.kill('SIGTERM')
process.on('exit', stop)

for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break
  } catch {}
  if (i > 100) throw new Error('discovery did not start')
  await new Promise((r) => setTimeout(r, 50))
}
const reg = (i) => ({
  id: `node-${i}`,
  addr: `127.0.0.1:${9000 + (i % 1000)}`,
  http: `http://127.0.0.1:${8010 + (i % 1000)}`,
})
for (let i = 0; i < PEERS; i++) {
  await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(reg(i)),
  })
}

const json = { 'content-type': 'application/json' }
const cases = [
  { name: 'GET /health (baseline)', opts: { url: `${base}/health` } },
  {
    name: 'POST /heartbeat',
    opts: { url: `${base}/heartbeat`, method: 'POST', headers: json, body: JSON.stringify({ id: 'node-1' }) },
  },
  {
    name: 'POST /register (update)',
    opts: { url: `${base}/register`, method: 'POST', headers: json, body: JSON.stringify(reg(2)) },
  },
  { name: `GET /peers (${PEERS} entries)`, opts: { url: `${base}/peers` } },
  {
    name: 'POST /register (bad body, 400)',
    opts: { url: `${base}/register`, method: 'POST', headers: json, body: '{"id":"x y"}' },
  },
]

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = new Map(cases.map((c) => [c.name, { rps: [], p99: [] }]))
for (let run = 0; run < RUNS; run++) {
  for (const c of cases) {
    const r = await autocannon({ ...c.opts, connections: 10, duration: SECONDS })
    results.get(c.name).rps.push(r.requests.average)
    results.get(c.name).p99.push(r.latency.p99)
  }
}
const baseRps = median(results.get(cases[0].name).rps)
console.log(`\n${RUNS} runs x ${SECONDS}s, 10 connections, median of runs (node ${process.version})\n`)
console.log('| case | req/s | ratio vs baseline | p99 ms |')
console.log('|---|---:|---:|---:|')
for (const c of cases) {
  const r = results.get(c.name)
  const rps = median(r.rps)
  console.log(`| ${c.name} | ${Math.round(rps)} | ${(rps / baseRps).toFixed(2)} | ${median(r.p99)} |`)
}
const exited = new Promise((r) => child.once('exit', r))
stop()
await exited
