#!/usr/bin/env node
// Throughput and p99 latency through tally-gateway vs straight to one node,
// same run, same autocannon settings. Uses real tally-node processes when
// packages/node/dist/server.js exists (else a fake node, and says so).
//
//   npm run bench -w @tally/gateway            (after npm run build)
//   BENCH_DURATION=4 BENCH_CONNECTIONS=10,100 BENCH_ROUNDS=3 npm run bench -w @tally/gateway
//   BENCH_METHODS=GET                 only the reads (GET,POST by default); GET-MANY: reads of
//                                     100 000 distinct counters, a random one per request, so no two
//                                     reads share a node request (what a read costs without coalescing)
//   BENCH_COMPARE_GATEWAY=<server.js> also run another gateway build (e.g. the commit before a
//                                     change) in front of the same nodes, interleaved: before/after
//
// For each connection count, each target is measured BENCH_ROUNDS times,
// interleaved; medians are kept. Every write (direct or through the gateway)
// carries a fresh Idempotency-Key, as every write the gateway forwards does,
// so the client does the same work on both sides; unkeyed direct writes are
// listed for reference. Node and gateway CPU per request come from
// /proc/<pid>/stat (Linux), so they do not depend on the client's share.

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const GATEWAY_BIN = here('../dist/server.js')
const NODE_BIN = here('../../node/dist/server.js')
const FAKE_BIN = here('./fake-node.mjs')
const DURATION = Number(process.env.BENCH_DURATION ?? 4)
const CONNECTION_COUNTS = String(process.env.BENCH_CONNECTIONS ?? '10,100')
  .split(',')
  .map(Number)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
let CONNECTIONS = CONNECTION_COUNTS[0]
const METHODS = String(process.env.BENCH_METHODS ?? 'GET,POST').split(',')
const COMPARE_BIN = process.env.BENCH_COMPARE_GATEWAY
const ALL_METHODS = ['GET', 'GET-MANY', 'POST']

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
  const pids = []
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
      const p = start([
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
      pids.push(p.pid)
    } else {
      pids.push(start([FAKE_BIN, String(http), `b${n}-${i + 1}`]).pid)
    }
    urls.push(`http://127.0.0.1:${http}`)
  }
  await Promise.all(urls.map((u) => waitHealthy(u, u)))
  return { urls, pids }
}

async function startGateway(nodeUrls, bin = GATEWAY_BIN) {
  const port = await freePort()
  const p = start([
    bin,
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
  return { url, pid: p.pid }
}

// CPU time (user + system) a process has used so far, ms (Linux /proc; 10 ms ticks).
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch {
    return Number.NaN
  }
}

// Group commits (tally_wal_batches_total) the nodes at `urls` have made so far; NaN for fake nodes.
async function groupCommits(urls) {
  if (!realNodes) return Number.NaN
  let sum = 0
  for (const u of urls) {
    const text = await (await fetch(`${u}/metrics`)).text()
    sum += Number(/^tally_wal_batches_total (\S+)/m.exec(text)?.[1] ?? Number.NaN)
  }
  return sum
}

// Runs one target: its URLs hit at once with the connections split between them.
async function runTarget(target, method, path) {
  const per = Math.max(1, Math.floor(CONNECTIONS / target.urls.length))
  const keyed = method === 'POST' && target.keyed
  const commits0 = method === 'POST' ? await groupCommits(target.nodeUrls) : Number.NaN
  const before = { gw: target.gwPid ? cpuMs(target.gwPid) : 0, nodes: target.nodePids.map(cpuMs) }
  const all = await Promise.all(target.urls.map((u) => run(u, method, path, per, keyed)))
  const total = all.reduce((s, r) => s + r.requests.total, 0)
  const nodesMs = target.nodePids.reduce((s, pid, i) => s + cpuMs(pid) - before.nodes[i], 0)
  return {
    non2xx: all.reduce((s, r) => s + r.non2xx, 0),
    errors: all.reduce((s, r) => s + r.errors, 0),
    rps: all.reduce((s, r) => s + r.requests.average, 0),
    p99: Math.max(...all.map((r) => r.latency.p99)),
    gwUs: target.gwPid ? ((cpuMs(target.gwPid) - before.gw) * 1000) / total : undefined,
    nodeUs: (nodesMs * 1000) / total,
    // The nodes' group commits per request (sync durability: one fsync each).
    commitsPerReq:
      method === 'POST' ? ((await groupCommits(target.nodeUrls)) - commits0) / total : Number.NaN,
  }
}

// `keyed`: every request carries a fresh Idempotency-Key, as every write the gateway forwards does.
function run(url, method, path, connections, keyed = false) {
  const headers = method === 'POST' ? { 'content-type': 'application/json' } : {}
  const body = method === 'POST' ? '{"amount":1}' : undefined
  const request = {
    method: method === 'GET-MANY' ? 'GET' : method,
    path,
    headers,
    ...(body === undefined ? {} : { body }),
  }
  if (method === 'GET-MANY') {
    request.setupRequest = (req) => ({ ...req, path: `/counters/c${Math.floor(Math.random() * 100_000)}` })
  }
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
const fmt = (x) => (x === undefined || Number.isNaN(x) ? '' : String(Math.round(x)))

try {
  const one = await startNodes(1)
  const three = await startNodes(3)
  const gw1 = await startGateway(one.urls)
  const gw3 = await startGateway(three.urls)
  const cmp1 = COMPARE_BIN ? await startGateway(one.urls, COMPARE_BIN) : undefined
  const cmp3 = COMPARE_BIN ? await startGateway(three.urls, COMPARE_BIN) : undefined
  const ONE = 'direct → lone node'
  const THREE = 'direct → all 3 nodes (connections split)'
  // [name, target, baseline name, methods]. Writes are keyed everywhere except the reference row.
  const targets = [
    [
      'direct → lone node, no Idempotency-Key',
      { urls: one.urls, nodePids: one.pids, nodeUrls: one.urls, keyed: false },
      null,
      ['POST'],
    ],
    [ONE, { urls: one.urls, nodePids: one.pids, nodeUrls: one.urls, keyed: true }, ONE, ALL_METHODS],
    [
      'gateway → lone node',
      { urls: [gw1.url], gwPid: gw1.pid, nodePids: one.pids, nodeUrls: one.urls, keyed: true },
      ONE,
      ALL_METHODS,
    ],
    [
      THREE,
      { urls: three.urls, nodePids: three.pids, nodeUrls: three.urls, keyed: true },
      THREE,
      ALL_METHODS,
    ],
    [
      'gateway → 3-node cluster',
      { urls: [gw3.url], gwPid: gw3.pid, nodePids: three.pids, nodeUrls: three.urls, keyed: true },
      THREE,
      ALL_METHODS,
    ],
  ]
  if (cmp1 && cmp3) {
    const gw = { urls: [cmp1.url], gwPid: cmp1.pid, nodePids: one.pids, nodeUrls: one.urls, keyed: true }
    targets.splice(3, 0, ['compared gateway → lone node', gw, ONE, ALL_METHODS])
    const gw3c = {
      urls: [cmp3.url],
      gwPid: cmp3.pid,
      nodePids: three.pids,
      nodeUrls: three.urls,
      keyed: true,
    }
    targets.push(['compared gateway → 3-node cluster', gw3c, THREE, ALL_METHODS])
  }
  console.log(
    `tally-gateway bench: ${realNodes ? 'real tally-node processes (--durability sync)' : 'FAKE node (packages/node not built)'}, ` +
      `autocannon ${CONNECTION_COUNTS.join(' and ')} connections × ${DURATION} s, ${ROUNDS} rounds (median), node ${process.version}` +
      `${COMPARE_BIN ? `, compared gateway: ${COMPARE_BIN}` : ''}, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  )
  for (const c of CONNECTION_COUNTS) {
    CONNECTIONS = c
    for (const [method, path] of [
      ['GET', '/counter'],
      ['GET-MANY', '/counters/c0'],
      ['POST', '/increment'],
    ].filter(([m]) => METHODS.includes(m))) {
      const mine = targets.filter((t) => t[3].includes(method))
      const results = new Map(mine.map(([name]) => [name, []]))
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, target] of mine) {
          const res = await runTarget(target, method, path)
          if (res.non2xx > 0 || res.errors > 0)
            console.warn(`  ${name}: ${res.non2xx} non-2xx, ${res.errors} errors`)
          results.get(name).push(res)
        }
      }
      const med = (name, k) => median(results.get(name).map((x) => x[k]))
      console.log(
        `\n${method === 'GET-MANY' ? 'GET /counters/<one of 100 000 at random> (no coalescing)' : `${method} ${path}`}${method === 'POST' ? ' (fresh Idempotency-Key per write)' : ''}, ${c} connections`,
      )
      console.log(
        '| target | req/s | p99 ms | vs baseline | p99 vs baseline | gateway CPU µs/req | node CPU µs/req | node group commits/req |',
      )
      console.log('|---|---|---|---|---|---|---|---|')
      for (const [name, , baseName] of mine) {
        const rps = med(name, 'rps')
        const p99 = med(name, 'p99')
        const vs =
          baseName === null
            ? '(reference)'
            : baseName === name
              ? 'baseline'
              : `${(rps / med(baseName, 'rps')).toFixed(2)}×`
        const p99vs =
          baseName === null || baseName === name
            ? ''
            : `${(p99 / Math.max(1, med(baseName, 'p99'))).toFixed(1)}×`
        console.log(
          `| ${name} | ${Math.round(rps)} | ${p99} | ${vs} | ${p99vs} | ${fmt(med(name, 'gwUs'))} | ${fmt(med(name, 'nodeUs'))} | ${Number.isNaN(med(name, 'commitsPerReq')) ? '' : med(name, 'commitsPerReq').toFixed(3)} |`,
        )
      }
    }
  }
  console.log(
    `\nload average at the end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
} finally {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
