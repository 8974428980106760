#!/usr/bin/env node
// CPU profile of tally-gateway under load: real tally-node processes, a
// gateway started with `node --cpu-prof`, autocannon for PROFILE_DURATION
// seconds, then the gateway's self time summed by kind of code (start-up
// left out) and its top functions.
//
//   npm run build && node packages/gateway/bench/profile.mjs
//   PROFILE_NODES=3 PROFILE_CONNECTIONS=10 PROFILE_METHOD=GET    (defaults)
//   PROFILE_METHOD=POST                  keyed writes (fresh Idempotency-Key each)
//   PROFILE_GATEWAY=<server.js>          another gateway build (e.g. the commit before a change)
//   PROFILE_DURATION=6                   seconds of load

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const GATEWAY_BIN = process.env.PROFILE_GATEWAY ?? here('../dist/server.js')
const NODE_BIN = here('../../node/dist/server.js')
const NODES = Number(process.env.PROFILE_NODES ?? 3)
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? 10)
const METHOD = process.env.PROFILE_METHOD ?? 'GET'
const DURATION = Number(process.env.PROFILE_DURATION ?? 6)
const dir = mkdtempSync(join(tmpdir(), 'tally-gw-profile-'))
const children = []

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function waitHealthy(url) {
  const end = Date.now() + 30_000
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return
    } catch {}
    if (Date.now() > end) throw new Error(`${url} did not become healthy`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function start(args) {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(p)
  return p
}

// Self time by kind of code: the gateway's own, its libraries, Node's JS, and native frames by name.
function kind(frame) {
  const { url, functionName } = frame
  if (url.includes('/gateway/dist/') || url.includes('/kit/dist/')) return "the gateway's own code"
  if (url.includes('undici')) return 'undici'
  if (/fastify|find-my-way|avvio|light-my-request|secure-json-parse/.test(url)) return 'fastify'
  if (url.includes('prom-client')) return 'prom-client (metrics)'
  if (url.startsWith('node:')) return 'Node core JS (HTTP, streams, timers)'
  if (url === '') return functionName
  return 'other JS'
}

function summarise(profile, skipUs) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const kinds = new Map()
  const fns = new Map()
  let t = 0
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const d = profile.timeDeltas[i] ?? 0
    t += d
    const frame = byId.get(profile.samples[i]).callFrame
    if (t < skipUs || frame.functionName === '(idle)') continue
    busy += d
    const k = kind(frame)
    kinds.set(k, (kinds.get(k) ?? 0) + d)
    const f = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}`
    fns.set(f, (fns.get(f) ?? 0) + d)
  }
  const pct = (x) => `${((100 * x) / busy).toFixed(1)} %`
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  console.log(`busy ${(busy / 1000).toFixed(0)} ms of the load window`)
  console.log('\n| kind of code | self time |\n| --- | --- |')
  for (const [k, v] of top(kinds, 10)) console.log(`| ${k} | ${pct(v)} |`)
  console.log('\n| function | self time |\n| --- | --- |')
  for (const [k, v] of top(fns, 15)) console.log(`| \`${k.trim()}\` | ${pct(v)} |`)
}

try {
  const ports = []
  for (let i = 0; i < NODES; i++) ports.push({ tcp: await freePort(), http: await freePort() })
  const urls = ports.map((p) => `http://127.0.0.1:${p.http}`)
  ports.forEach(({ tcp, http }, i) => {
    const peers = ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p.tcp}`)
    start([
      NODE_BIN,
      ...['--id', `p${i + 1}`, '--tcp-port', String(tcp), '--http-port', String(http)],
      ...(peers.length > 0 ? ['--peers', peers.join(',')] : []),
      ...['--data-dir', join(dir, `p${i + 1}`), '--log-level', 'warn', '--resp-port', '0'],
    ])
  })
  await Promise.all(urls.map(waitHealthy))
  const port = await freePort()
  const t0 = performance.now()
  const gw = start([
    ...['--cpu-prof', '--cpu-prof-dir', join(dir, 'prof'), '--cpu-prof-interval', '200'],
    GATEWAY_BIN,
    ...['--port', String(port), '--resp-port', '0', '--nodes', urls.join(','), '--log-level', 'warn'],
  ])
  const origin = `http://127.0.0.1:${port}`
  await waitHealthy(origin)
  // Start-up (module loading, first health checks) is left out of the summary.
  const skipUs = (performance.now() - t0 + 500) * 1000
  const request =
    METHOD === 'POST'
      ? {
          method: 'POST',
          path: '/increment',
          headers: { 'content-type': 'application/json' },
          body: '{"amount":1}',
          setupRequest: (r) => ({ ...r, headers: { ...r.headers, 'idempotency-key': randomUUID() } }),
        }
      : { method: 'GET', path: '/counter' }
  const res = await new Promise((resolve, reject) =>
    autocannon(
      { url: `${origin}${request.path}`, connections: CONNECTIONS, duration: DURATION, requests: [request] },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  )
  const exited = new Promise((r) => gw.on('exit', r))
  gw.kill('SIGTERM')
  await exited
  console.log(
    `tally-gateway profile (${GATEWAY_BIN}): ${METHOD} ${request.path}, ${NODES} node(s), ${CONNECTIONS} connections × ${DURATION} s: ` +
      `${Math.round(res.requests.average)} req/s, p99 ${res.latency.p99} ms, ${res.non2xx} non-2xx, ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  )
  const file = readdirSync(join(dir, 'prof')).find((f) => f.endsWith('.cpuprofile'))
  summarise(JSON.parse(readFileSync(join(dir, 'prof', file), 'utf8')), skipUs)
} finally {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
