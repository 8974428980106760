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
// When it runs as root with iptables' cgroup match and a cgroup2 mount, it
// also partitions the nodes (scripts/chaos-partitions.mjs): it first restarts
// each node into a cgroup of its own, then cuts random splits of the cluster
// apart for a few seconds and heals them, checking that each side stops
// seeing the other and that all come back together. Otherwise it says why
// partitions are off and injects kills and pauses only.
//
// Environment (set by run-cluster.sh): LOG_DIR, HTTP_BASE_PORT, GATEWAY_PORT.
// A node that chose its ports at start (base port 0) has them in
// LOG_DIR/node-k.ports ("HTTP GOSSIP RESP"); a restart binds them again.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openPartitions, splitSides } from './chaos-partitions.mjs'

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
    const finalArgv = argv && withRecordedPorts(argv, ports)
    const tcpAt = finalArgv?.indexOf('--tcp-port') ?? -1
    return {
      k,
      name: `node-${k}`,
      pid,
      pidFile,
      argv: finalArgv,
      gossipPort: tcpAt >= 0 ? Number(finalArgv[tcpAt + 1]) : 0,
      url: `http://127.0.0.1:${httpPort}`,
      state: 'up',
    }
  })
  .filter((n) => n.argv?.some((a) => a.endsWith('tally-node.js')))
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
/** Starts node `n` again with its own command line (in its cgroup when partitions are on). */
function restart(n) {
  const logFile = join(LOG_DIR, `${n.name}.log`)
  if (parts.ok && !closed) {
    n.pid = parts.spawnIn(n.name, n.argv, logFile)
  } else {
    const out = openSync(logFile, 'a')
    const child = spawn(n.argv[0], n.argv.slice(1), { detached: true, stdio: ['ignore', out, out] })
    child.unref()
    n.pid = child.pid
  }
  writeFileSync(n.pidFile, `${n.pid}\n`)
  n.state = 'up'
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Live peers each node reports (-1 when it does not answer). */
async function liveCounts() {
  const hs = await Promise.all(nodes.map((n) => http('GET', `${n.url}/health`, undefined, {}, 1000)))
  return hs.map((h) => (h.status === 200 && typeof h.body?.peers?.live === 'number' ? h.body.peers.live : -1))
}
const healthyAll = async () => (await liveCounts()).every((live) => live === nodes.length - 1)
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
async function recoveredIn(since) {
  const end = Date.now() + 60_000
  while (Date.now() < end) {
    if (await healthyAll()) return Date.now() - since
    await sleep(100)
  }
  return Number.POSITIVE_INFINITY
}

// ---- partitions (root only) ---------------------------------------------------------
const parts = nodes.every((n) => n.gossipPort > 0)
  ? openPartitions(run)
  : { ok: false, reason: 'a node has no --tcp-port on its command line' }
let closed = false
/**
 * Undoes what the checker changed, also when interrupted: resumes paused
 * nodes, removes cuts, chain and cgroups, and starts nodes it had killed.
 */
function undo() {
  if (closed) return
  closed = true
  for (const n of nodes) if (n.state === 'paused') process.kill(n.pid, 'SIGCONT')
  if (parts.ok) for (const p of parts.close()) console.log(`chaos: cleanup: ${p}`)
  for (const n of nodes) if (n.state === 'down') restart(n)
}
// Every way out undoes: a normal end and an uncaught error or rejection reach
// 'exit'; the signals that end a run from outside are caught (SIGKILL cannot be).
process.on('exit', undo)
const SIGNAL_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 }
for (const [sig, code] of Object.entries(SIGNAL_CODES)) {
  process.on(sig, () => {
    undo()
    process.exit(code)
  })
}

/** Restarts every node into its own cgroup (SIGTERM, then its command line), one at a time. */
async function adoptAll() {
  for (const n of nodes) {
    process.kill(n.pid, 'SIGTERM')
    const end = Date.now() + 15_000
    while (alive(n.pid) && Date.now() < end) await sleep(50)
    if (alive(n.pid)) process.kill(n.pid, 'SIGKILL')
    restart(n)
    const ms = await recoveredIn(Date.now())
    log(
      `${n.name} restarted into its own cgroup; all live ${Number.isFinite(ms) ? `${ms} ms` : 'NOT within 60 s'} after`,
    )
  }
}

/** Cuts a random split apart for `holdMs`; returns when the cut was seen (ms) or Infinity. */
async function partition(holdMs) {
  const [a, b] = splitSides(nodes, Math.random)
  const label = `{${a.map((n) => n.name).join(',')}}|{${b.map((n) => n.name).join(',')}}`
  log(`partition ${label} for ${holdMs} ms`)
  const since = Date.now()
  parts.cut(a, b)
  const side = new Map([...a.map((n) => [n, a.length]), ...b.map((n) => [n, b.length])])
  let seenMs = Number.POSITIVE_INFINITY
  while (Date.now() - since < holdMs) {
    if (!Number.isFinite(seenMs)) {
      const live = await liveCounts()
      if (nodes.every((n, i) => live[i] === side.get(n) - 1)) {
        seenMs = Date.now() - since
        log(`cut seen: each side shows the other not live ${seenMs} ms after the cut`)
      }
    }
    await sleep(100)
  }
  parts.heal()
  return { label, seenMs }
}

const faults = []
let stopFaults = false
async function chaosLoop() {
  const kinds = parts.ok ? ['partition', 'kill', 'pause'] : ['kill', 'pause']
  let i = 0
  while (!stopFaults) {
    const n = nodes[Math.floor(Math.random() * nodes.length)]
    const kind = kinds[i++ % kinds.length]
    const holdMs = 2000 + Math.floor(Math.random() * 2000)
    const fault = { kind, node: n.name, holdMs, recoveredMs: 0 }
    if (kind === 'partition') {
      fault.holdMs = 4000 + Math.floor(Math.random() * 3000)
      Object.assign(fault, await partition(fault.holdMs))
    } else if (kind === 'kill') {
      log(`${kind} ${n.name} for ${holdMs} ms`)
      process.kill(n.pid, 'SIGKILL')
      n.state = 'down'
      await sleep(holdMs)
      restart(n)
    } else {
      log(`${kind} ${n.name} for ${holdMs} ms`)
      process.kill(n.pid, 'SIGSTOP')
      n.state = 'paused'
      await sleep(holdMs)
      process.kill(n.pid, 'SIGCONT')
      n.state = 'up'
    }
    const healed = Date.now()
    const ms = await recoveredIn(healed)
    fault.recoveredMs = ms
    faults.push(fault)
    log(
      `${fault.label ?? n.name} back; every node sees every other live ${Number.isFinite(ms) ? `${ms} ms` : 'NOT within 60 s'} after`,
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
  `${nodes.length} nodes, counter ${NAME}, ${duration} s of kills, pauses${parts.ok ? ' and partitions' : ''}; ` +
    (parts.ok
      ? `partitions: on (iptables chain ${parts.chain} on lo, one cgroup per node under ${parts.cgroup}; removed at exit)`
      : `partitions: off (${parts.reason})`),
)
if (!(await healthyAll())) log('warning: not every node is healthy and sees every other live at the start')
if (parts.ok) await adoptAll()
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
const cutsSeen = faults.every((f) => f.kind !== 'partition' || Number.isFinite(f.seenMs))
const pass = converged && inBounds && recovered && cutsSeen
undo()
const faultText = faults
  .map((f) =>
    f.kind === 'partition'
      ? `partition ${f.label} ${f.holdMs} ms (cut seen ${Number.isFinite(f.seenMs) ? `${f.seenMs} ms` : 'NO'}) → ${f.recoveredMs} ms`
      : `${f.kind} ${f.node} ${f.holdMs} ms → ${f.recoveredMs} ms`,
  )
  .join(', ')
console.log(
  `chaos: ${pass ? 'PASS' : 'FAIL'} ops ok=${count.ok} failed=${count.failed} unknown=${count.unknown} ` +
    `(unknown before re-send ${unknownAtEnd}); values ${nodes.map((n, i) => `${n.name}=${values[i]}`).join(' ')}; ` +
    `bounds [${lower}, ${upper}]${lower === upper ? ' (exact)' : ''}; converged ${converged ? `in ${convMs} ms` : 'NO'}; ` +
    `faults (held → all live after): ${faultText || 'none'}`,
)
process.exit(pass ? 0 : 1)
