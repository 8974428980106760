// Where the node's HTTP write route spends its CPU against a bare fastify
// route (bare-server.mjs) and the same route on kit's base (house-server.mjs):
// each of the three (and BENCH_COMPARE_NODE_SERVER, another build of the node,
// if given) runs under `node --cpu-prof` and takes `rounds` rounds of unkeyed
// `POST /increment` from autocannon (built per request, as in keyed.mjs),
// interleaved. Only the samples taken while a round ran are counted (the
// profiles' clock is the monotonic clock autocannon's rounds are timed on),
// so start-up, warm-up and shutdown are left out. Prints, per target, the
// requests, req/s, CPU per request from /proc (as keyed.mjs) and busy µs per
// request from the profile, then the functions with the most self time per
// request (µs) side by side, sorted by the node's (which runs tsc's output,
// dist/server.js, so its file names match the house route's; BENCH_NODE_SERVER
// runs another file).
//
// Usage: node bench/route-profile.mjs [durationSec=6] [connections=100] [durability=async] [rounds=2] [top=30]
// BENCH_PROFILE_DIR=<dir>: keep the .cpuprofile files there (default: a temp dir, removed).
// BENCH_KEYED=1: keyed writes (a fresh Idempotency-Key per request) instead of plain ones.

import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { postLoad, rm, startNode, stop, tempDir } from './lib.mjs'

const [d = '6', c = '100', durability = 'async', r = '2', n = '30'] = process.argv.slice(2)
const duration = Number(d)
const connections = Number(c)
const rounds = Number(r)
const topN = Number(n)

// CPU time (user + system) of a process so far, ms (10 ms ticks).
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

// A fresh Idempotency-Key per request with BENCH_KEYED=1 (bare and house ignore it), else a header the node ignores.
const header = process.env.BENCH_KEYED ? 'idempotency-key' : 'x-bench-id'

// A small server script (bare or house) under --cpu-prof; resolves with its port once it prints it.
function startScript(file, profDir) {
  const child = spawn(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', profDir, fileURLToPath(new URL(file, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((resolve) =>
    child.stdout.once('data', (d) => resolve({ child, url: `http://127.0.0.1:${Number(String(d).trim())}` })),
  )
}

// Profile `file`: self µs per function (key: name file:line) within `windows` ([startUs, endUs] monotonic).
function selfTimes(file, windows) {
  const p = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((x) => [x.id, x.callFrame]))
  const self = new Map()
  let busy = 0
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    // A sample's time is the gap to the next sample (what V8 credits it with).
    const dt = p.timeDeltas[i + 1] ?? 0
    if (!windows.some(([a, b]) => t >= a && t < b)) continue
    const f = byId.get(p.samples[i])
    if (f.functionName === '(idle)') continue
    busy += dt
    const where = f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : ''
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + dt)
  }
  return { self, busy }
}

const dir = tempDir()
const profRoot = process.env.BENCH_PROFILE_DIR ?? join(dir, 'prof')
const targets = []
try {
  const dirOf = (label) => {
    const p = join(profRoot, label)
    mkdirSync(p, { recursive: true })
    return p
  }
  for (const [label, script] of [
    ['bare', './bare-server.mjs'],
    ['house', './house-server.mjs'],
  ]) {
    const prof = dirOf(label)
    targets.push({ label, prof, ...(await startScript(script, prof)) })
  }
  // tsc's output rather than the bundle: the same file names as the house route's (kit, fastify).
  const builds = [
    ['node', process.env.BENCH_NODE_SERVER ?? fileURLToPath(new URL('../dist/server.js', import.meta.url))],
  ]
  if (process.env.BENCH_COMPARE_NODE_SERVER) builds.push(['compared', process.env.BENCH_COMPARE_NODE_SERVER])
  for (const [label, server] of builds) {
    const prof = dirOf(label)
    process.env.BENCH_CPU_PROF = prof
    const node = await startNode(label, dir, ['--durability', durability], server)
    delete process.env.BENCH_CPU_PROF
    targets.push({ label, prof, child: node.child, url: node.url, node })
  }
  for (const t of targets) {
    t.windows = []
    t.requests = 0
    t.cpu = 0
    t.rps = []
    await postLoad(`${t.url}/increment`, 2, connections, header)
  }
  for (let i = 0; i < rounds; i++)
    for (const t of targets) {
      const cpu0 = cpuMs(t.child.pid)
      const a = Number(process.hrtime.bigint() / 1000n)
      const res = await postLoad(`${t.url}/increment`, duration, connections, header)
      t.windows.push([a, Number(process.hrtime.bigint() / 1000n)])
      t.cpu += cpuMs(t.child.pid) - cpu0
      t.requests += res.requests.total
      t.rps.push(Math.round(res.requests.average))
    }
} finally {
  for (const t of targets) if (!t.node) t.child.kill('SIGTERM')
  await Promise.all(
    targets
      .filter((t) => !t.node)
      .map((t) => (t.child.exitCode === null ? new Promise((r) => t.child.once('exit', r)) : undefined)),
  )
  await stop(targets.filter((t) => t.node).map((t) => t.node))
}

console.log(
  `${connections} connections, ${durability}${header === 'idempotency-key' ? ', keyed' : ''}, ${rounds} × ${duration} s, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
)
const columns = []
for (const t of targets) {
  const files = readdirSync(t.prof).filter((f) => f.endsWith('.cpuprofile'))
  const { self, busy } = selfTimes(join(t.prof, files[0]), t.windows)
  const per = (us) => us / Math.max(1, t.requests)
  columns.push({ label: t.label, self, per })
  console.log(
    `${t.label.padEnd(9)} req/s ${t.rps.join(' / ')}, CPU ${((t.cpu * 1000) / t.requests).toFixed(1)} µs/req (/proc), busy ${per(busy).toFixed(1)} µs/req (profile)`,
  )
}
const node = columns.find((x) => x.label === 'node')
const byNode = [...node.self.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k)
// The node's top functions, then those in another target's top 10 that are not among them.
const keys = new Set(byNode.slice(0, topN))
for (const col of columns)
  for (const [k] of [...col.self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) keys.add(k)
console.log(`\nself µs per request: ${columns.map((x) => x.label.padStart(9)).join('')}  function`)
for (const k of keys) {
  const cells = columns
    .map((col) =>
      col
        .per(col.self.get(k) ?? 0)
        .toFixed(2)
        .padStart(9),
    )
    .join('')
  console.log(`${' '.repeat(21)}${cells}  ${k}`)
}
// The nodes' data (and the profiles, unless BENCH_PROFILE_DIR keeps them elsewhere).
rm(dir)
