#!/usr/bin/env node
// Throughput and p99 latency through tally-gateway vs straight to one node,
// same run, same autocannon settings. Uses real tally-node processes when
// packages/node/dist/server.js exists (else a fake node, and says so).
//
//   npm run bench -w @tally/gateway            (after npm run build)
//   BENCH_DURATION=5 BENCH_CONNECTIONS=32 BENCH_ROUNDS=3 npm run bench -w @tally/gateway
//
// Each target is measured BENCH_ROUNDS times, interleaved; the median is kept.

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const GATEWAY_BIN = here('../dist/server.js')
const NODE_BIN = here('../../node/dist/server.js')
const FAKE_BIN = here('./fake-node.mjs')
const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

if (!existsSync(GATEWAY_BIN)) {
  console.error(`missing ${GATEWAY_BIN}: run npm run build`)
  process.exit(1)
}
const realNodes = existsSync(NODE_BIN)
const children = []
const dir = mkdtempSync(join(tmpdir(), 'tally-gw-bench-'))

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

async function waitHealthy(url, what) {
  const end = Date.now() + 30_000
  for (;;) {
    try {
      const r = await fetch(`${url}/health`)
      if (r.status === 200) return
    } catch {}
    if (Date.now() > end) throw new Error(`${what} did not become healthy`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function start(args) {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(p)
  return p
}

async function startNodes(n) {
  const ports = []
  for (let i = 0; i < n; i++) ports.push({ tcp: await freePort(), http: await freePort() })
  const urls = []
  for (let i = 0; i < n; i++) {
    const { tcp, http } = ports[i]
    const peers = ports
      .filter((_, j) => j !== i)
      .map((p) => `127.0.0.1:${p.tcp}`)
      .join(',')
    if (realNodes) {
      start([
        NODE_BIN,
        ...['--id', `b${n}-${i + 1}`, '--tcp-port', String(tcp), '--http-port', String(http)],
        ...[
          '--peers',
          peers,
          '--data-dir',
          join(dir, `b${n}-${i + 1}`),
          '--log-level',
          'warn',
          '--resp-port',
          '0',
        ],
      ])
    } else {
      start([FAKE_BIN, String(http), `b${n}-${i + 1}`])
    }
    urls.push(`http://127.0.0.1:${http}`)
  }
  await Promise.all(urls.map((u) => waitHealthy(u, u)))
  return urls
}

async function startGateway(nodeUrls) {
  const port = await freePort()
  start([
    GATEWAY_BIN,
    '--port',
    String(port),
    '--resp-port',
    '0',
    '--nodes',
    nodeUrls.join(','),
    '--log-level',
    'warn',
  ])
  const url = `http://127.0.0.1:${port}`
  await waitHealthy(url, 'gateway')
  return url
}

// A target is one URL, `{ url }` (send a fresh Idempotency-Key with each request), or several
// URLs hit at once with the connections split between them.
async function runTarget(target, method, path) {
  if (typeof target === 'object' && !Array.isArray(target)) {
    return run(target.url, method, path, CONNECTIONS, true)
  }
  if (!Array.isArray(target)) return run(target, method, path, CONNECTIONS)
  const per = Math.max(1, Math.floor(CONNECTIONS / target.length))
  const all = await Promise.all(target.map((u) => run(u, method, path, per)))
  return {
    non2xx: all.reduce((s, r) => s + r.non2xx, 0),
    errors: all.reduce((s, r) => s + r.errors, 0),
    requests: { average: all.reduce((s, r) => s + r.requests.average, 0) },
    latency: { p99: Math.max(...all.map((r) => r.latency.p99)) },
  }
}

// `keyed`: every request carries a fresh Idempotency-Key, as every write the gateway forwards does.
function run(url, method, path, connections, keyed = false) {
  const headers = method === 'POST' ? { 'content-type': 'application/json' } : {}
  const body = method === 'POST' ? '{"amount":1}' : undefined
  const request = { method, path, headers, ...(body === undefined ? {} : { body }) }
  if (keyed) {
    request.setupRequest = (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } })
  }
  return new Promise((resolve, reject) => {
    autocannon({ url: `${url}${path}`, connections, duration: DURATION, requests: [request] }, (err, res) =>
      err ? reject(err) : resolve(res),
    )
  })
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

try {
  const one = await startNodes(1)
  const three = await startNodes(3)
  const gw1 = await startGateway(one)
  const gw3 = await startGateway(three)
  // Baselines: the lone node, and one node of the 3-node cluster (it gossips, so it is slower).
  // [name, target, baseline name, methods]. Baselines: the lone node (for writes, sent a fresh
  // Idempotency-Key per request like the gateway does: keyed writes cost the node more), and for
  // the cluster the same three nodes hit directly with the connections split between them.
  const KEYED = 'direct → lone node, fresh Idempotency-Key per write'
  const targets = [
    ['direct → lone node', one[0], 'direct → lone node', ['GET', 'POST']],
    [KEYED, { url: one[0] }, KEYED, ['POST']],
    ['gateway → lone node', gw1, { GET: 'direct → lone node', POST: KEYED }, ['GET', 'POST']],
    [
      'direct → all 3 nodes (connections split)',
      three,
      'direct → all 3 nodes (connections split)',
      ['GET', 'POST'],
    ],
    ['gateway → 3-node cluster', gw3, 'direct → all 3 nodes (connections split)', ['GET', 'POST']],
  ]
  console.log(
    `tally-gateway bench: ${realNodes ? 'real tally-node processes' : 'FAKE node (packages/node not built)'}, ` +
      `autocannon ${CONNECTIONS} connections × ${DURATION} s, ${ROUNDS} rounds (median), node ${process.version}`,
  )
  for (const [method, path] of [
    ['GET', '/counter'],
    ['POST', '/increment'],
  ]) {
    const mine = targets.filter((t) => t[3].includes(method))
    const results = new Map(mine.map(([name]) => [name, []]))
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, url] of mine) {
        const res = await runTarget(url, method, path)
        if (res.non2xx > 0 || res.errors > 0)
          console.warn(`  ${name}: ${res.non2xx} non-2xx, ${res.errors} errors`)
        results.get(name).push({ rps: res.requests.average, p99: res.latency.p99 })
      }
    }
    console.log(`\n${method} ${path}`)
    console.log('| target | req/s (median) | p99 ms (median) | vs baseline |')
    console.log('|---|---|---|---|')
    for (const [name, , baseOf] of mine) {
      const rps = median(results.get(name).map((x) => x.rps))
      const p99 = median(results.get(name).map((x) => x.p99))
      const baseName = typeof baseOf === 'string' ? baseOf : baseOf[method]
      const base = median(results.get(baseName).map((x) => x.rps))
      const vs = baseName === name ? 'baseline' : `${(rps / base).toFixed(2)}× ${baseName}`
      console.log(`| ${name} | ${Math.round(rps)} | ${p99} | ${vs} |`)
    }
  }
} finally {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
