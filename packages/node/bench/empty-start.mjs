// Start time of an empty node: process spawn → the `listening` log line, and
// → the first 200 from /health, for each build side by side with
// redis-server's start (spawn → PONG) measured in the same run, interleaved
// (one start of each per round), medians over the rounds. Also the CPU time
// the node used until it logged `listening`, until its first /health was
// answered and after SETTLE_MS idle (schemas compiled by then: user +
// system, from /proc: less sensitive to a loaded machine than wall time) and
// its idle RSS once started (VmRSS after SETTLE_MS with no traffic).
//
// Usage (after npm run build), from packages/node:
//   node bench/empty-start.mjs
// Env: RUNS rounds (default 9), SETTLE_MS (default 1000);
//   BENCH_BASE_SERVER=<another build's server.js> also measures that build
//   (e.g. the commit before a change); BENCH_SERVERS=label=path,… replaces
//   the default list (the bundled bin dist/tally-node.js when built, and the
//   tsc output dist/server.js).
// Every node starts with a fresh data dir, --durability async, OS-chosen
// ports (0) and RESP on. redis-server (Debian package `redis-server`) runs on
// a unix socket without persistence; its row says "absent" when it is not
// installed.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rm, startNode, stop, tempDir, until, untilHealthy } from './lib.mjs'

const RUNS = Number(process.env.RUNS ?? 9)
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 1000)
const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url))
const redisBin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim()
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100)

/** The builds to start: label → server script. */
function servers() {
  if (process.env.BENCH_SERVERS) {
    return process.env.BENCH_SERVERS.split(',').map((kv) => {
      const at = kv.indexOf('=')
      return { label: kv.slice(0, at), path: kv.slice(at + 1) }
    })
  }
  const list = []
  if (existsSync(dist('tally-node.js')))
    list.push({ label: 'bundle dist/tally-node.js', path: dist('tally-node.js') })
  list.push({ label: 'tsc output dist/server.js', path: dist('server.js') })
  if (process.env.BENCH_BASE_SERVER) list.push({ label: 'base', path: process.env.BENCH_BASE_SERVER })
  return list
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (x) => Math.round(x)

/** CPU time (user + system) process `pid` has used so far, ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
}

function rssMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

/** One start of `server` with a fresh data dir: { listenMs, healthMs, cpuMs, rssMB }. */
async function startOnce(server, dir, i) {
  const t0 = performance.now()
  const node = await startNode(`e${i}`, dir, ['--durability', 'async'], server)
  const listenMs = performance.now() - t0
  const cpu = cpuMs(node.child.pid)
  // One request at a time, each answered or refused before the next: the first 200 ends the wait.
  await untilHealthy(node.url, 20_000, 1)
  const healthMs = performance.now() - t0
  const cpuHealth = cpuMs(node.child.pid)
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const rss = rssMB(node.child.pid)
  const cpuSettled = cpuMs(node.child.pid)
  await stop([node])
  return { listenMs, healthMs, cpuMs: cpu, cpuHealthMs: cpuHealth, cpuSettledMs: cpuSettled, rssMB: rss }
}

/** Starts redis-server on a unix socket in `dir`; resolves with its time to PONG, then stops it. */
async function redisOnce(dir) {
  const sock = join(dir, 'redis.sock')
  const t0 = performance.now()
  const child = spawn(redisBin, ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  const pong = () =>
    new Promise((resolve) => {
      const c = connect(sock)
      c.once('error', () => resolve(false))
      c.once('data', (d) => {
        c.end()
        resolve(String(d).startsWith('+PONG'))
      })
      c.write('PING\r\n')
    })
  await until(async () => existsSync(sock) && (await pong()), 10_000, 1)
  const startMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const rss = rssMB(child.pid)
  const done = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await done
  return { startMs, rssMB: rss }
}

const builds = servers()
const results = new Map(builds.map((b) => [b.label, []]))
const redis = []
const dir = tempDir()
let started = 0
try {
  for (let i = 0; i < RUNS; i++) {
    for (const b of builds) results.get(b.label).push(await startOnce(b.path, dir, started++))
    if (redisBin) redis.push(await redisOnce(tempDir()))
  }
} finally {
  rm(dir)
}
console.log(
  `empty start, ${RUNS} rounds interleaved, medians; loadavg ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
)
for (const b of builds) {
  const rs = results.get(b.label)
  const row = {
    toListeningMs: ms(median(rs.map((r) => r.listenMs))),
    toFirstHealthMs: ms(median(rs.map((r) => r.healthMs))),
    cpuToListeningMs: ms(median(rs.map((r) => r.cpuMs))),
    cpuToFirstHealthMs: ms(median(rs.map((r) => r.cpuHealthMs))),
    cpuSettledMs: ms(median(rs.map((r) => r.cpuSettledMs))),
    idleRssMB: ms(median(rs.map((r) => r.rssMB))),
  }
  console.log(`${b.label.padEnd(28)} ${JSON.stringify(row)}`)
}
if (redisBin) {
  const row = {
    toPongMs: +median(redis.map((r) => r.startMs)).toFixed(1),
    idleRssMB: ms(median(redis.map((r) => r.rssMB))),
  }
  console.log(`${'redis-server'.padEnd(28)} ${JSON.stringify(row)}`)
} else console.log(`${'redis-server'.padEnd(28)} absent (apt-get install redis-server)`)
