// CPU per plain HTTP increment on one node (async durability), against a
// bare fastify route (bare-server.mjs) and optionally another build's node,
// same run, interleaved rounds, medians, CPU from /proc (user + system).
// Unlike keyed.mjs, autocannon sends one prebuilt request over and over by
// default, so the client is not the bottleneck and every server runs at the
// pace it can keep; BENCH_HEADER=<name> adds a fresh header per request
// (built by autocannon for each, as keyed.mjs does), which slows the client
// about twice.
//
// `nodeVsBare` is the node's CPU per request ÷ the bare route's (≤ 1.11 is
// the "node ≥ 0.9× a bare fastify route" target); `nodeVsCompared` the node's
// ÷ the other build's; both per round, then the median.
//
// BENCH_COMPARE_NODE_SERVER=<another build's dist/server.js>
// Usage: node bench/http-ab.mjs [seconds=4] [connections=10] [rounds=6]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { cluster, rm, stop, tempDir } from './lib.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const [seconds = '4', connections = '10', rounds = '6'] = process.argv.slice(2)
const header = process.env.BENCH_HEADER
const compared = process.env.BENCH_COMPARE_NODE_SERVER

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}
let nextId = 0
const requests =
  header === undefined
    ? undefined
    : [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, [header]: `b-${nextId++}` } }) }]
const load = (url, duration) =>
  new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        method: 'POST',
        duration,
        connections: Number(connections),
        body: '{"amount":1}',
        headers: { 'content-type': 'application/json' },
        ...(requests === undefined ? {} : { requests }),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  )
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round2 = (x) => Math.round(x * 100) / 100

const dirs = []
const nodes = []
const targets = []
const bare = spawn(process.execPath, [fileURLToPath(new URL('./bare-server.mjs', import.meta.url))], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
try {
  const barePort = await new Promise((resolve) => bare.stdout.once('data', (x) => resolve(Number(String(x)))))
  targets.push({ name: 'bare', pid: bare.pid, url: `http://127.0.0.1:${barePort}/increment` })
  for (const [name, server] of [['node', undefined], ...(compared ? [['compared', compared]] : [])]) {
    const dir = tempDir()
    dirs.push(dir)
    const [n] = await cluster(1, dir, ['--durability', 'async'], server)
    nodes.push(n)
    targets.push({ name, pid: n.child.pid, url: `${n.url}/increment` })
  }
  for (const t of targets) await load(t.url, 1) // warm-up
  const us = Object.fromEntries(targets.map((t) => [t.name, []]))
  const rps = Object.fromEntries(targets.map((t) => [t.name, []]))
  for (let r = 0; r < Number(rounds); r++)
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const c0 = cpuMs(t.pid)
      const res = await load(t.url, Number(seconds))
      us[t.name].push(((cpuMs(t.pid) - c0) * 1000) / res.requests.total)
      rps[t.name].push(res.requests.average)
    }
  const perRound = (a, b) => round2(median(us[a].map((x, i) => x / us[b][i])))
  const out = { connections: Number(connections), seconds: Number(seconds), rounds: Number(rounds), header }
  for (const t of targets)
    out[t.name] = { cpuUsPerReq: round2(median(us[t.name])), reqPerSec: Math.round(median(rps[t.name])) }
  out.nodeVsBare = perRound('node', 'bare')
  if (compared) out.nodeVsCompared = perRound('node', 'compared')
  out.loadavg = loadavg().map((x) => Math.round(x * 10) / 10)
  console.log(JSON.stringify(out))
} finally {
  bare.kill()
  await stop(nodes)
  for (const d of dirs) rm(d)
}
