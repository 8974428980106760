#!/usr/bin/env node
// Chaos checker for the local cluster started by ./run-cluster.sh (invoked as
// `./run-cluster.sh chaos [duration=60]`). For `duration` seconds it drives
// keyed increments and decrements of one fresh counter through the gateway,
// while it SIGKILLs and restarts nodes and pauses them (SIGSTOP/SIGCONT).
// Then it resumes everything, re-sends every operation whose outcome was
// unknown with the same Idempotency-Key (so each counts exactly once), waits
// for the nodes to converge and checks every node's value against the bounds
//   lower = Σ acked increments − Σ attempted decrements
//   upper = Σ attempted increments − Σ acked decrements
// (equal, i.e. exact, once no outcome is left unknown).
// Prints progress, then one verdict line `chaos: PASS …` or `chaos: FAIL …`;
// exit 0 on PASS, 1 on FAIL.
//
// Partitions are not injected: the local cluster's nodes all listen on
// 127.0.0.1 in one network namespace, so iptables cannot cut the link
// between two of them (their connections differ only by ephemeral ports)
// without cutting them off from everyone, and changing the host's firewall
// is not something a local checker should do. The namespace test
// (packages/node/test/processes/netns-partition.test.ts) and
// packages/node/bench/heal.mjs cover partitions.
//
// Environment (set by run-cluster.sh): LOG_DIR, HTTP_BASE_PORT, GATEWAY_PORT.
// A node that chose its ports at start (base port 0) has them in
// LOG_DIR/node-k.ports ("HTTP GOSSIP RESP"); a restart binds them again.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const duration = Number(process.argv[2] ?? 60)
if (!Number.isFinite(duration) || duration < 5) {
  console.error('usage: chaos [duration seconds, at least 5; default 60]')
  process.exit(2)
}
const LOG_DIR = process.env.LOG_DIR ?? 'logs'
const HTTP_BASE = Number(process.env.HTTP_BASE_PORT ?? 8010)
const GATEWAY = `http://127.0.0.1:${process.env.GATEWAY_PORT ?? 8080}`
const NAME = `chaos-${Date.now().toString(36)}`
const run = randomBytes(4).toString('hex')
const t0 = Date.now()
const log = (msg) => console.log(`chaos: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`)

// ---- the cluster as run-cluster.sh left it ------------------------------------------
/** The ports node `k` recorded (HTTP, gossip, RESP), or undefined. */
function recordedPorts(k) {
  try {
    const ports = readFileSync(join(LOG_DIR, `node-${k}.ports`), 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    return ports.length === 3 && ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535)
      ? ports
      : undefined
  } catch {
    return undefined
  }
}
/** `argv` with each port flag given as 0 replaced by the port the node recorded (a restart binds it again). */
function withRecordedPorts(argv, ports) {
  if (ports === undefined) return argv
  const flags = { '--http-port': ports[0], '--tcp-port': ports[1], '--resp-port': ports[2] }
  return argv.map((a, i) => (i > 0 && a === '0' && flags[argv[i - 1]] > 0 ? String(flags[argv[i - 1]]) : a))
}
const nodes = readdirSync(LOG_DIR)
  .map((f) => /^node-(\d+)\.pid$/.exec(f))
  .filter(Boolean)
  .map((m) => {
    const k = Number(m[1])
    const pidFile = join(LOG_DIR, `node-${k}.pid`)
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    let argv = null
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    } catch {}
    const ports = recordedPorts(k)
    const httpPort = HTTP_BASE === 0 ? (ports?.[0] ?? 0) : HTTP_BASE + k - 1
    return {
      k,
      name: `node-${k}`,
      pid,
      pidFile,
      argv: argv && withRecordedPorts(argv, ports),
      url: `http://127.0.0.1:${httpPort}`,
      state: 'up',
    }
  })
  .filter((n) => n.argv?.some((a) => a.endsWith('server.js')))
  .sort((a, b) => a.k - b.k)
if (nodes.length < 2) {
  console.log(`chaos: FAIL needs a running cluster of at least 2 nodes (found ${nodes.length} in ${LOG_DIR})`)
  process.exit(1)
}

async function http(method, url, body, headers = {}, timeoutMs = 3000) {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await res.text()
    let json = null
    try {
      json = JSON.parse(text)
    } catch {}
    return { status: res.status, body: json }
  } catch {
    return { status: 0, body: null }
  }
}

// ---- faults -------------------------------------------------------------------------
function restart(n) {
  const out = openSync(join(LOG_DIR, `${n.name}.log`), 'a')
  const child = spawn(n.argv[0], n.argv.slice(1), { detached: true, stdio: ['ignore', out, out] })
  child.unref()
  n.pid = child.pid
  writeFileSync(n.pidFile, `${child.pid}\n`)
  n.state = 'up'
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const healthyAll = async () => {
  const hs = await Promise.all(nodes.map((n) => http('GET', `${n.url}/health`, undefined, {}, 1000)))
  return hs.every((h) => h.status === 200 && h.body?.peers?.live === nodes.length - 1)
}
async function recoveredIn(since) {
  const end = Date.now() + 60_000
  while (Date.now() < end) {
    if (await healthyAll()) return Date.now() - since
    await sleep(100)
  }
  return Number.POSITIVE_INFINITY
}

const faults = []
let stopFaults = false
async function chaosLoop() {
  let i = 0
  while (!stopFaults) {
    const n = nodes[Math.floor(Math.random() * nodes.length)]
    const kind = i++ % 2 === 0 ? 'kill' : 'pause'
    const holdMs = 2000 + Math.floor(Math.random() * 2000)
    log(`${kind} ${n.name} for ${holdMs} ms`)
    if (kind === 'kill') {
      process.kill(n.pid, 'SIGKILL')
      n.state = 'down'
      await sleep(holdMs)
      restart(n)
    } else {
      process.kill(n.pid, 'SIGSTOP')
      n.state = 'paused'
      await sleep(holdMs)
      process.kill(n.pid, 'SIGCONT')
      n.state = 'up'
    }
    const healed = Date.now()
    const ms = await recoveredIn(healed)
    faults.push({ kind, node: n.name, holdMs, recoveredMs: ms })
    log(
      `${n.name} back; every node sees every other live ${Number.isFinite(ms) ? `${ms} ms` : 'NOT within 60 s'} after`,
    )
    await sleep(1000 + Math.floor(Math.random() * 1000))
  }
}

// ---- operations ---------------------------------------------------------------------
const ops = [] // { op, amount, key, outcome: 'ok' | 'failed' | 'unknown' }
let seq = 0
async function send(o) {
  const r = await http(
    'POST',
    `${GATEWAY}/counters/${NAME}/${o.op}`,
    { amount: o.amount },
    { 'idempotency-key': o.key },
  )
  if (r.status >= 200 && r.status < 300) o.outcome = 'ok'
  else if (r.status === 400 || r.status === 409 || r.status === 422) o.outcome = 'failed'
  else o.outcome = 'unknown'
}
let stopOps = false
async function worker() {
  while (!stopOps) {
    const o = {
      op: Math.random() < 0.6 ? 'increment' : 'decrement',
      amount: 1 + Math.floor(Math.random() * 9),
      key: `chaos-${run}-${seq++}`,
      outcome: 'unknown',
    }
    ops.push(o)
    await send(o)
    if (o.outcome === 'unknown') await sleep(100)
  }
}

log(
  `${nodes.length} nodes, counter ${NAME}, ${duration} s of kills and pauses (partitions skipped: all nodes share 127.0.0.1 in one namespace)`,
)
if (!(await healthyAll())) log('warning: not every node is healthy and sees every other live at the start')
const workers = Array.from({ length: 6 }, worker)
const chaos = chaosLoop()
const progress = setInterval(() => {
  const c = { ok: 0, failed: 0, unknown: 0 }
  for (const o of ops) c[o.outcome]++
  log(`ops ok ${c.ok}, failed ${c.failed}, unknown ${c.unknown}`)
}, 10_000)
await sleep(duration * 1000)
stopFaults = true
await chaos
stopOps = true
await Promise.all(workers)
clearInterval(progress)
for (const n of nodes) if (n.state === 'down') restart(n)

// Resolve unknown outcomes: the same key counts at most once, so re-sending is safe.
const unknownAtEnd = ops.filter((o) => o.outcome === 'unknown').length
for (let round = 0; round < 10 && ops.some((o) => o.outcome === 'unknown'); round++) {
  for (const o of ops.filter((x) => x.outcome === 'unknown')) await send(o)
  if (ops.some((o) => o.outcome === 'unknown')) await sleep(1000)
}

let lower = 0
let upper = 0
const count = { ok: 0, failed: 0, unknown: 0 }
for (const o of ops) {
  count[o.outcome]++
  const sure = o.outcome === 'ok'
  const maybe = o.outcome !== 'failed'
  if (o.op === 'increment') {
    if (sure) lower += o.amount
    if (maybe) upper += o.amount
  } else {
    if (maybe) lower -= o.amount
    if (sure) upper -= o.amount
  }
}

const convStart = Date.now()
let values = []
let converged = false
while (Date.now() - convStart < 60_000) {
  values = await Promise.all(
    nodes.map(async (n) => (await http('GET', `${n.url}/counters/${NAME}`, undefined, {}, 2000)).body?.value),
  )
  if (values.every((v) => typeof v === 'number' && v === values[0]) && (await healthyAll())) {
    converged = true
    break
  }
  await sleep(100)
}
const convMs = Date.now() - convStart
const inBounds = values.every((v) => typeof v === 'number' && v >= lower && v <= upper)
const recovered = faults.every((f) => Number.isFinite(f.recoveredMs))
const pass = converged && inBounds && recovered
const faultText = faults.map((f) => `${f.kind} ${f.node} ${f.holdMs} ms → ${f.recoveredMs} ms`).join(', ')
console.log(
  `chaos: ${pass ? 'PASS' : 'FAIL'} ops ok=${count.ok} failed=${count.failed} unknown=${count.unknown} ` +
    `(unknown before re-send ${unknownAtEnd}); values ${nodes.map((n, i) => `${n.name}=${values[i]}`).join(' ')}; ` +
    `bounds [${lower}, ${upper}]${lower === upper ? ' (exact)' : ''}; converged ${converged ? `in ${convMs} ms` : 'NO'}; ` +
    `faults (held → all live after): ${faultText || 'none'}`,
)
process.exit(pass ? 0 : 1)
