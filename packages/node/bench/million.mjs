// A million counters on one node: snapshot pauses, restart time and memory,
// with redis-server side by side where a comparison applies.
//
// Usage (after npm run build), from packages/node:
//   node --expose-gc bench/million.mjs [snapshot|restart|log|memory|catchup|all]   (default all)
// Env: N counters (default 1000000), REPLICAS entries per counter (default 3:
// this node's and two peers'), KEYS idempotency records in the snapshot
// (default 300000), TAIL logged operations after the snapshot (default 10000),
// HTTP_N counters loaded over HTTP for the memory figure (default N),
// RUNS timed repeats (default 3; medians reported), CATCHUP_N counters for
// the catch-up figure (default 100000), LOG_OPS operations for the log
// figure (default 1000000), LOG_DURABILITY (async, default: segment files;
// sync: LevelDB rows, see below), BENCH_BASE_DIST another build's
// packages/node/dist (e.g. the commit before a change) whose restart from the
// same log is timed interleaved with this build's (log figure only),
// BENCH_BASE_SERVER another build's dist/tally-node.js whose fresh-process
// restarts are timed interleaved with this build's (restart figure only).
//
//   snapshot  in process: a LevelStore and a CounterMap of N counters; writes
//             go on (one at a time) while a snapshot of the live map and KEYS
//             records is taken. Reports the longest event-loop pause (gap
//             between two turns), write latency during the snapshot, and the
//             one block the former whole-state encoding took for the same state.
//             Pauses are given as wall time (`longestPauseMs`) and as the main
//             thread's on-CPU time within the longest-running gap
//             (`longestBusyMs`, from /proc schedstat: the block without the
//             time spent waiting for a core on a loaded machine).
//   restart   the same data dir (snapshot + TAIL logged ops): open + rebuild
//             of the map + reading the key records, median of RUNS, and the
//             longest synchronous block of each phase, loading the records
//             into the key table and ledger included (a setImmediate
//             ticker: the gap between two event-loop turns); then a
//             tally-node process started on that data dir RUNS times, each a
//             fresh process: spawn → first 200 from /health (what a user
//             sees), its CPU until then, and the digest it holds checked
//             (ended by SIGKILL so each run opens the same data dir;
//             BENCH_BASE_SERVER=<another build's dist/tally-node.js>: that
//             build's restarts interleaved with this one's); then one more
//             (VmRSS per counter with REPLICAS entries each and KEYS key
//             records); then an empty data dir; redis-server start for comparison.
//             Beside the fresh restarts: redis-server loaded with N counters
//             (INCR) and KEYS answers (SET … EX), saved to an RDB file and
//             restarted from it RUNS times, to its first PONG
//             (`redisServerFromRdbToPingMsMedian`, `ratioToRedisRdb`).
//             RSS_BASE_SERVER: another build's dist/tally-node.js (or a
//             comma-separated list of name=path), started on the same data
//             dir in turn with this build's, RSS_ROUNDS times each (default
//             1; the RSS row gives the median, each start, and each start's
//             RSS by kind of mapping from smaps: LevelDB tables, other files,
//             anonymous).
//   log       a data dir holding LOG_OPS logged operations, one per log
//             record (no snapshot): open + rebuild, median of RUNS (CPU time
//             beside it: less sensitive to a loaded machine); a redis-server
//             restarted from an append-only file of as many INCRs, time to PING.
//             LOG_DURABILITY=sync: the records are LevelDB rows, the ones a
//             sync-mode node writes for one write a request (written here in
//             LevelDB batches of 10 000 rows, to spare a million fsyncs).
//   memory    a tally-node process (async durability) loaded with HTTP_N
//             counters by HTTP increments; VmRSS per counter, before and after
//             a restart, and write throughput per tenth of the load; a
//             redis-server loaded with as many keys (INCR), VmRSS per key.
//
//   catchup   node A loaded with CATCHUP_N counters by HTTP; node B starts
//             empty with A as its seed: time until B holds A's state (same
//             digest), the bytes A's gossip transport sent meanwhile, and
//             A's /health latency (p50, p99, max) polled every 20 ms.
//
// redis-server (Debian package `redis-server`) is started on a unix socket
// (no TCP port) when it is installed; otherwise its rows say "absent".
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { CounterMap } from '@tally/crdt'
import { get, keyRecordsOf, percentile, rm, startNode, stop, tempDir, until, untilHealthy } from './lib.mjs'

const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url))
const { LevelStore } = await import(dist('storage/level-store.js'))
const { mapSource } = await import(dist('storage/snapshot-source.js'))
const { rebuildCounters } = await import(dist('storage/recovery.js'))
const { encodeBatch, encodeFrame, walKey } = await import(dist('storage/record-codec.js'))
const { defaultOpenDb } = await import(dist('storage/wal-db.js'))
const { KeyedWrites } = await import(dist('idempotency/keyed-writes.js'))
const { WriteFence } = await import(dist('storage/write-fence.js'))
const silent = { info() {}, warn() {}, error() {}, debug() {} }

const N = Number(process.env.N ?? 1_000_000)
const REPLICAS = Number(process.env.REPLICAS ?? 3)
const KEYS = Number(process.env.KEYS ?? 300_000)
const TAIL = Number(process.env.TAIL ?? 10_000)
const HTTP_N = Number(process.env.HTTP_N ?? N)
const RUNS = Number(process.env.RUNS ?? 3)
const CATCHUP_N = Number(process.env.CATCHUP_N ?? 100_000)
const LOG_OPS = Number(process.env.LOG_OPS ?? 1_000_000)
const LOG_DURABILITY = process.env.LOG_DURABILITY ?? 'async'
const BASE_DIST = process.env.BENCH_BASE_DIST
const BASE_SERVER = process.env.BENCH_BASE_SERVER
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100)
const what = process.argv[2] ?? 'all'

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const out = (name, r) => console.log(`${name.padEnd(34)} ${JSON.stringify(r)}`)
const ms = (x) => Math.round(x)
const turn = () => new Promise((r) => setImmediate(r))
const redisBin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim()

/** Adds REPLICAS−1 peers' entries to every counter of `map` (columns, as a snapshot slice would). */
function addPeers(map, n) {
  for (let r = 1; r < REPLICAS; r++) {
    const id = `peer-${r}.1838381891282792`
    for (let i = 0; i < n; i += 4096) {
      const names = []
      const rows = []
      for (let j = i; j < Math.min(n, i + 4096); j++) {
        rows.push(names.push(`counter-${j}`) - 1, 0, 1 + (j % 100), j % 7, j + 1)
      }
      map.mergeColumns({ names, replicas: [id], rows })
    }
    map.applyDelta({ ranges: [[id, 0, n]], entries: [] })
  }
}

const keyRecords = (replica) => keyRecordsOf(KEYS, replica, N)

/** Longest gap between two event-loop turns while `fn` runs, and write latencies of a writer running meanwhile. */
async function underLoad(map, store, fn) {
  let running = true
  const meter = blockMeter()
  const lat = []
  const writer = (async () => {
    for (let i = 0; running; i++) {
      map.increment(`counter-${(i * 7919) % N}`, 1)
      const t0 = performance.now()
      await store.appendLocal(map.deltaFor(map.replica, map.seq - 1))
      lat.push(performance.now() - t0)
      await turn()
    }
  })()
  const t0 = performance.now()
  await fn()
  const took = performance.now() - t0
  running = false
  const block = await meter.stop()
  await writer
  return {
    tookMs: ms(took),
    longestPauseMs: block.wallMs,
    longestBusyMs: block.busyMs,
    gcInBusiestMs: block.gcInBusiestMs,
    writes: lat.length,
    writeP50Ms: Number(percentile(lat, 50).toFixed(1)),
    writeP99Ms: Number(percentile(lat, 99).toFixed(1)),
    writeMaxMs: ms(Math.max(...lat)),
  }
}

async function snapshotAndRestart(dir) {
  const store = new LevelStore({ dataDir: dir, durability: 'async', snapshotEveryOps: Infinity })
  const rec = await store.open('bench')
  const map = new CounterMap(rec.identity.replicaId)
  for (let i = 0; i < N; i++) map.increment(`counter-${i}`, 1)
  addPeers(map, N)
  const records = keyRecords(rec.identity.replicaId)
  globalThis.gc?.()
  if (what === 'all' || what === 'snapshot') {
    const idle = await underLoad(map, store, () => new Promise((r) => setTimeout(r, 2000)))
    out('no snapshot (2 s of writes)', { counters: N, ...idle })
    const snap = await underLoad(map, store, () => store.snapshot(mapSource(map), records))
    out('snapshot of the live map', { counters: N, replicas: REPLICAS, keyRecords: KEYS, ...snap })
    // What the former snapshot did on the main thread, in one block.
    const t0 = performance.now()
    const bytes = encodeFrame({ covered: 1, at: 0, state: map.state(), idempotency: records }).length
    out('former whole-state encode (1 block)', { blockMs: ms(performance.now() - t0), bytes })
  } else await store.snapshot(mapSource(map), records)
  for (let i = 0; i < TAIL; i++) {
    map.increment(`counter-${(i * 31) % N}`, 1)
    await store.appendLocal(map.deltaFor(map.replica, map.seq - 1))
  }
  await store.close()
  const digest = map.digest()
  return { digest }
}

// On-CPU time of this process's main thread, ns (Linux schedstat; NaN elsewhere). A
// gap between two event-loop turns is a block of our own code (or of garbage
// collection) only for the part of it this thread spent on a core: on a
// loaded machine the rest is time spent waiting for one.
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`
const hasSchedstat = existsSync(SCHEDSTAT)
const threadNs = () => (hasSchedstat ? Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) : Number.NaN)

/**
 * Starts a setImmediate ticker. `lap()` (and `stop()`, which also ends it)
 * return, since the start or the previous lap, the longest gap between two
 * event-loop turns, `wallMs`, and the longest on-CPU time of the main thread
 * within one gap, `busyMs` (the block itself, without the time the thread
 * waited for a core on a loaded machine), and `gcInBusiestMs`, the garbage
 * collection (perf_hooks `gc` entries, wall time) within that busiest gap.
 */
function blockMeter() {
  let running = true
  let last = performance.now()
  let lastNs = threadNs()
  let wall = 0
  let busy = 0
  // The busiest gap, [start, end] in performance.now() time, and the garbage collections seen.
  let busiest = [0, 0]
  const gcs = []
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration])
  })
  obs.observe({ entryTypes: ['gc'] })
  const gap = (now, ns) => {
    if (now - last > wall) wall = now - last
    if ((ns - lastNs) / 1e6 > busy) {
      busy = (ns - lastNs) / 1e6
      busiest = [last, now]
    }
  }
  const tick = () => {
    const now = performance.now()
    const ns = threadNs()
    gap(now, ns)
    last = now
    lastNs = ns
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  const lap = async () => {
    const now = performance.now()
    gap(now, threadNs())
    const [a, b] = busiest
    const r = { wallMs: ms(wall), busyMs: ms(busy) }
    // GC entries are delivered after the fact: wait a turn, then sum those within the busiest gap.
    await new Promise((resolve) => setTimeout(resolve, 0))
    r.gcInBusiestMs = ms(gcs.reduce((t, [s, e]) => t + Math.max(0, Math.min(e, b) - Math.max(s, a)), 0))
    gcs.length = 0
    wall = 0
    busy = 0
    busiest = [0, 0]
    last = performance.now()
    lastNs = threadNs()
    return r
  }
  return {
    lap,
    async stop() {
      running = false
      obs.disconnect()
      return lap()
    },
  }
}

async function restart(
  dir,
  digest,
  cpu = [],
  build = { LevelStore, rebuildCounters },
  runs = RUNS,
  blocks = [],
) {
  const times = []
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const meter = blockMeter()
    const store = new build.LevelStore({ dataDir: dir })
    const rec = await store.open('bench')
    const openBlock = await meter.lap()
    const t1 = performance.now()
    const { map } = await build.rebuildCounters(rec)
    const rebuildBlock = await meter.lap()
    // The key records too, read after the map as the node reads them (decoded on first read).
    const records = await (rec.readIdempotency?.() ?? rec.idempotency)
    const keys = records.length
    const recordsBlock = await meter.lap()
    times.push(performance.now() - t0)
    // Then loaded into the key table and ledger, as the node does before it serves (not in the time above).
    const keyed = new KeyedWrites({
      map,
      fence: new WriteFence({ store, logger: silent }),
      logger: silent,
      ttlMs: 86_400_000,
      maxKeys: 1_000_000,
      publish: () => {},
    })
    await (keyed.loadInTurns ? keyed.loadInTurns(records) : keyed.load(records))
    const keyTableBlock = await meter.stop()
    blocks.push({ open: openBlock, rebuild: rebuildBlock, records: recordsBlock, keyTable: keyTableBlock })
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    if (process.env.VERBOSE)
      console.log('open', ms(t1 - t0), 'rebuild', ms(performance.now() - t1), 'keys', keys)
    if (map.digest() !== digest) throw new Error('recovered state differs from the written one')
    await store.close()
  }
  return median(times)
}

/** One restart (RUNS ignored) with `build` (default this one): wall ms; its CPU ms pushed to `cpu`. */
function restartOnce(dir, digest, cpu, build = { LevelStore, rebuildCounters }) {
  return restart(dir, digest, cpu, build, 1)
}

/** Writes LOG_OPS one-operation records (LOG_DURABILITY) to `dataDir`; resolves with the digest and the record count. */
async function writeLog(dataDir) {
  const sync = LOG_DURABILITY === 'sync'
  const store = new LevelStore({ dataDir, durability: sync ? 'sync' : 'async', snapshotEveryOps: Infinity })
  const rec = await store.open('bench')
  const map = new CounterMap(rec.identity.replicaId)
  if (!sync) {
    for (let i = 0; i < LOG_OPS; i++) {
      map.increment(`counter-${(i * 31) % LOG_OPS}`, 1)
      await store.appendLocal(map.deltaFor(map.replica, map.seq - 1))
    }
    await store.close()
    return { digest: map.digest(), records: store.stats.batches }
  }
  // The rows a sync node writes for one write a request (batch n holds operation n), without a million fsyncs.
  await store.close()
  const db = defaultOpenDb(join(dataDir, 'db'))
  await db.open()
  let ops = []
  for (let i = 0; i < LOG_OPS; i++) {
    map.increment(`counter-${(i * 31) % LOG_OPS}`, 1)
    const delta = map.deltaFor(map.replica, map.seq - 1)
    ops.push({ type: 'put', key: walKey(i + 1), value: encodeBatch(i + 1, [{ kind: 'local', delta }]) })
    if (ops.length === 10_000 || i === LOG_OPS - 1) {
      await db.batch(ops)
      ops = []
    }
  }
  await db.close()
  return { digest: map.digest(), records: LOG_OPS }
}

async function logFigures() {
  const dir = tempDir()
  try {
    const { digest, records } = await writeLog(join(dir, 'log'))
    const cpu = []
    const row = { ops: LOG_OPS, durability: LOG_DURABILITY, logRecords: records }
    if (BASE_DIST) {
      // Interleaved: one run of each build in turn, so both see the same machine.
      const base = {
        LevelStore: (await import(join(BASE_DIST, 'storage/level-store.js'))).LevelStore,
        rebuildCounters: (await import(join(BASE_DIST, 'storage/recovery.js'))).rebuildCounters,
      }
      const mine = { t: [], cpu: [] }
      const theirs = { t: [], cpu: [] }
      for (let i = 0; i < RUNS; i++) {
        // Alternate which goes first (the first restart of a process also warms what both share).
        const pair = [
          [undefined, mine],
          [base, theirs],
        ]
        for (const [b, acc] of i % 2 === 0 ? pair : pair.reverse()) {
          const c = []
          acc.t.push(await restartOnce(join(dir, 'log'), digest, c, b))
          acc.cpu.push(c[0])
        }
      }
      Object.assign(row, {
        openAndRebuildMsMedian: ms(median(mine.t)),
        cpuMsMedian: ms(median(mine.cpu)),
        baseOpenAndRebuildMsMedian: ms(median(theirs.t)),
        baseCpuMsMedian: ms(median(theirs.cpu)),
        wallMs: mine.t.map(ms),
        baseWallMs: theirs.t.map(ms),
        cpuRatioToBase: Number((median(mine.cpu) / median(theirs.cpu)).toFixed(2)),
      })
    } else {
      row.openAndRebuildMsMedian = ms(await restart(join(dir, 'log'), digest, cpu))
      row.cpuMsMedian = ms(median(cpu))
    }
    row.loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    if (redisBin) {
      const rdir = tempDir()
      const r = await startRedis(rdir, 'yes')
      for (let i = 0; i < LOG_OPS; i += 10_000) {
        const cmds = []
        for (let j = i; j < Math.min(LOG_OPS, i + 10_000); j++)
          cmds.push(['INCR', `counter-${(j * 31) % LOG_OPS}`])
        await redisCmds(r.sock, cmds)
      }
      await stopChild(r.child)
      const starts = []
      for (let i = 0; i < RUNS; i++) {
        const again = await startRedis(rdir, 'yes')
        starts.push(again.startMs)
        await stopChild(again.child)
      }
      rm(rdir)
      row.redisServerFromAofToPingMsMedian = ms(median(starts))
    } else row.redis = 'redis-server absent'
    out('restart: operation log only', row)
  } finally {
    rm(dir)
  }
}

/** RSS of `pid` by kind of mapping (MiB, from /proc/<pid>/smaps): LevelDB tables, other files, anonymous. */
function rssByKind(pid) {
  const kb = { ldbFiles: 0, otherFiles: 0, anonymous: 0 }
  let kind = 'anonymous'
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line)
    if (head) {
      const path = head[1] ?? ''
      kind = path.endsWith('.ldb') ? 'ldbFiles' : path.startsWith('/') ? 'otherFiles' : 'anonymous'
    } else if (line.startsWith('Rss:')) kb[kind] += Number(/(\d+)/.exec(line)[1])
  }
  return Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, Math.round(v / 1024)]))
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : Number.NaN
}

/**
 * redis-server holding what the restart figure's node holds: N counters
 * (`INCR counter-<i>`) and KEYS idempotency answers (`SET key-<i>-… <value>
 * EX 86400`), saved to an RDB file, then restarted from it RUNS times: time
 * to its first PONG (it answers -LOADING until the file is loaded). Median
 * and each, ms.
 */
async function redisFromRdb() {
  const rdir = tempDir()
  try {
    const r = await startRedis(rdir)
    for (let i = 0; i < N; i += 10_000) {
      const cmds = []
      for (let j = i; j < Math.min(N, i + 10_000); j++) cmds.push(['INCR', `counter-${j}`])
      await redisCmds(r.sock, cmds)
    }
    for (let i = 0; i < KEYS; i += 10_000) {
      const cmds = []
      for (let j = i; j < Math.min(KEYS, i + 10_000); j++)
        cmds.push(['SET', `key-${j}-0123456789abcdef`, `counter-${j % N}:1`, 'EX', '86400'])
      await redisCmds(r.sock, cmds)
    }
    const [saved] = await redisCmds(r.sock, ['SAVE'])
    if (saved !== '+OK') throw new Error(`redis-server SAVE answered ${saved}`)
    await stopChild(r.child)
    const each = []
    for (let i = 0; i < RUNS; i++) {
      const again = await startRedis(rdir)
      each.push(ms(again.startMs))
      await stopChild(again.child)
    }
    return { ms: median(each), each }
  } finally {
    rm(rdir)
  }
}

/** Starts redis-server on a unix socket in `dir`; resolves once it answers PONG (not -LOADING: its data set is loaded). */
async function startRedis(dir, aof = 'no') {
  const sock = join(dir, 'redis.sock')
  const child = spawn(
    redisBin,
    ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', aof, '--dir', dir],
    { stdio: 'ignore' },
  )
  const t0 = performance.now()
  const ready = async () => {
    try {
      return existsSync(sock) && (await redisCmds(sock, ['PING']))[0] === '+PONG'
    } catch {
      return false
    }
  }
  await until(ready, 10_000, 2)
  return { child, sock, startMs: performance.now() - t0 }
}

/** Sends RESP commands (arrays of strings) over one connection; resolves with the raw replies (one line each). */
function redisCmds(sock, cmds) {
  return new Promise((resolve, reject) => {
    const c = connect(sock)
    let buf = ''
    const replies = []
    c.on('error', reject)
    c.on('data', (d) => {
      buf += d
      const lines = buf.split('\r\n')
      buf = lines.pop()
      replies.push(...lines)
      if (replies.length >= cmds.length) {
        c.end()
        resolve(replies)
      }
    })
    c.write(cmds.map((x) => (Array.isArray(x) ? x.join(' ') : x)).join('\r\n') + '\r\n')
  })
}

async function stopChild(child) {
  if (child.exitCode !== null) return
  const done = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await done
}

/** CPU time (user + system) process `pid` has used so far, ms (Linux /proc). */
function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
}

/**
 * One fresh `server` process on the data dir `dir/bench` (async durability):
 * spawn → its first 200 from /health, its CPU until then, and a check that it
 * holds `digest`. Ended with SIGKILL (by pid), so that it takes no final
 * snapshot and every run opens the same snapshot and log tail (the next start
 * keeps the incarnation: a crash on the same boot).
 */
async function freshRestart(dir, digest, server) {
  const t0 = performance.now()
  const node = await startNode(
    'bench',
    dir,
    ['--durability', 'async', '--snapshot-interval', '600000'],
    server,
  )
  const listenMs = performance.now() - t0
  await untilHealthy(node.url, 60_000, 2)
  const healthMs = performance.now() - t0
  const cpuMs = cpuMsOf(node.child.pid)
  const stats = await get(`${node.url}/stats`)
  const exited = new Promise((r) => node.child.once('exit', r))
  node.child.kill('SIGKILL')
  await exited
  if (stats?.digest !== digest) throw new Error(`restarted node holds ${stats?.digest}, not ${digest}`)
  return { listenMs, healthMs, cpuMs, keyRecords: stats.keyRecords }
}

/** RUNS fresh restarts (and as many of BENCH_BASE_SERVER's build, interleaved when set): medians. */
async function freshRestarts(dir, digest) {
  const builds = [['this', undefined]]
  if (BASE_SERVER) builds.push(['base', BASE_SERVER])
  const runs = Object.fromEntries(builds.map(([label]) => [label, []]))
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? builds : [...builds].reverse()
    for (const [label, server] of order) runs[label].push(await freshRestart(dir, digest, server))
  }
  const row = { counters: N, replicas: REPLICAS, keyRecords: KEYS, tailOps: TAIL, runs: RUNS }
  for (const [label, rs] of Object.entries(runs)) {
    const p = label === 'this' ? '' : `${label}.`
    row[`${p}toHealthMsMedian`] = ms(median(rs.map((r) => r.healthMs)))
    row[`${p}toListeningMsMedian`] = ms(median(rs.map((r) => r.listenMs)))
    row[`${p}cpuMsMedian`] = ms(median(rs.map((r) => r.cpuMs)))
    row[`${p}toHealthMs`] = rs.map((r) => ms(r.healthMs))
    row[`${p}keyRecordsLoaded`] = rs[0].keyRecords
  }
  row.loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  return row
}

async function restartFigures() {
  const dir = tempDir()
  try {
    // Named as the node id: a tally-node process opens it below (--id bench).
    const { digest } = await snapshotAndRestart(join(dir, 'bench'))
    if (what === 'all' || what === 'restart') {
      const cpu = []
      const blocks = []
      out('restart: snapshot + log tail', {
        counters: N,
        replicas: REPLICAS,
        keyRecords: KEYS,
        tailOps: TAIL,
        openAndRebuildMsMedian: ms(await restart(join(dir, 'bench'), digest, cpu, undefined, RUNS, blocks)),
        cpuMsMedian: ms(median(cpu)),
        // Longest synchronous block (gap between two event-loop turns) in each phase, per run.
        longestBlockMs: blocks,
      })
      // What a user sees: a fresh tally-node process on that data dir until /health answers.
      const fresh = await freshRestarts(dir, digest)
      // The same state in redis-server: N counters (INCR) and KEYS idempotency answers (SET … EX), restarted from an RDB file.
      if (redisBin) {
        const rdb = await redisFromRdb()
        fresh.redisServerFromRdbToPingMsMedian = rdb.ms
        fresh.redisServerFromRdbToPingMs = rdb.each
        fresh.ratioToRedisRdb = Number((fresh.toHealthMsMedian / rdb.ms).toFixed(2))
      } else fresh.redis = 'redis-server absent'
      out('restart: fresh tally-node process', fresh)
      // The same data dir in a tally-node process: RSS with REPLICAS entries per counter and KEYS key records.
      // RSS_BASE_SERVER: another build's tally-node.js started in turn with this one, RSS_ROUNDS times each.
      const builds = [['this', undefined]]
      for (const b of (process.env.RSS_BASE_SERVER ?? '').split(',').filter(Boolean))
        builds.push(b.includes('=') ? b.split('=') : ['base', b])
      const starts = Object.fromEntries(
        builds.map(([name]) => [name, { rss: [], toListening: [], kinds: [] }]),
      )
      const rounds = Number(process.env.RSS_ROUNDS ?? 1)
      for (let i = 0; i < rounds; i++) {
        for (const [name, server] of i % 2 ? [...builds].reverse() : builds) {
          const t0 = performance.now()
          const args = ['--durability', 'async', '--snapshot-interval', '600000']
          const node = await startNode('bench', dir, args, server)
          starts[name].toListening.push(ms(performance.now() - t0))
          await new Promise((r) => setTimeout(r, 2000))
          starts[name].rss.push(rssOf(node.child.pid))
          starts[name].kinds.push(rssByKind(node.child.pid))
          await stop([node])
        }
      }
      for (const [name] of builds) {
        const rss = median(starts[name].rss)
        out(`memory: tally-node restarted on it${name === 'this' ? '' : ` (${name})`}`, {
          counters: N,
          replicas: REPLICAS,
          keyRecords: KEYS,
          toListeningMs: starts[name].toListening,
          rssMB: Math.round(rss / 2 ** 20),
          rssBytesPerCounter: Math.round(rss / N),
          ...(rounds > 1 ? { rssMBEach: starts[name].rss.map((x) => Math.round(x / 2 ** 20)) } : {}),
          rssMiBByKind: starts[name].kinds,
        })
      }
      const empty = []
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now()
        const node = await startNode(`e${i}`, dir, ['--durability', 'async'])
        empty.push(performance.now() - t0)
        await stop([node])
      }
      const row = { tallyNodeToListeningMsMedian: ms(median(empty)) }
      if (redisBin) {
        const starts = []
        for (let i = 0; i < RUNS; i++) {
          const rdir = tempDir()
          const r = await startRedis(rdir)
          starts.push(r.startMs)
          await stopChild(r.child)
          rm(rdir)
        }
        row.redisServerToPingMsMedian = ms(median(starts))
      } else row.redis = 'redis-server absent'
      out('restart: empty node', row)
    }
  } finally {
    rm(dir)
  }
}

async function memoryFigures() {
  const dir = tempDir()
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const inc = (port, name) =>
    new Promise((resolve, reject) => {
      const req = request(
        { agent, port, host: '127.0.0.1', method: 'POST', path: `/counters/${name}/increment` },
        (res) => {
          res.resume()
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`))))
        },
      )
      req.on('error', reject)
      req.end()
    })
  try {
    const args = ['--durability', 'async', '--snapshot-interval', '60000']
    const node = await startNode('m1', dir, args)
    const rss0 = rssOf(node.child.pid)
    const rates = []
    const step = Math.max(1, Math.floor(HTTP_N / 10))
    for (let from = 0; from < HTTP_N; from += step) {
      const t0 = performance.now()
      let next = from
      const end = Math.min(HTTP_N, from + step)
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < end) await inc(node.http, `user:${next++}`)
        }),
      )
      rates.push(Math.round((end - from) / ((performance.now() - t0) / 1000)))
    }
    await new Promise((r) => setTimeout(r, 2000))
    const rss = rssOf(node.child.pid)
    await stop([node])
    const t0 = performance.now()
    const again = await startNode('m1', dir, args)
    const restartMs = performance.now() - t0
    await new Promise((r) => setTimeout(r, 2000))
    const rssAfter = rssOf(again.child.pid)
    await stop([again])
    const row = {
      counters: HTTP_N,
      emptyNodeRssMB: Math.round(rss0 / 2 ** 20),
      rssMB: Math.round(rss / 2 ** 20),
      rssBytesPerCounter: Math.round(rss / HTTP_N),
      rssBytesPerCounterAfterRestart: Math.round(rssAfter / HTTP_N),
      restartToListeningMs: ms(restartMs),
      writesPerSecByTenth: rates,
    }
    if (redisBin) {
      const rdir = tempDir()
      const r = await startRedis(rdir)
      for (let i = 0; i < HTTP_N; i += 10_000) {
        const cmds = []
        for (let j = i; j < Math.min(HTTP_N, i + 10_000); j++) cmds.push(['INCR', `user:${j}`])
        await redisCmds(r.sock, cmds)
      }
      const redisRss = rssOf(r.child.pid)
      await stopChild(r.child)
      rm(rdir)
      row.redisRssBytesPerKey = Math.round(redisRss / HTTP_N)
      row.ratioToRedis = Number((rss / redisRss).toFixed(1))
    } else row.redis = 'redis-server absent'
    out('memory: counters by HTTP', row)
  } finally {
    agent.destroy()
    rm(dir)
  }
}

async function catchupFigures() {
  const dir = tempDir()
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const inc = (port, name) =>
    new Promise((resolve, reject) => {
      const req = request(
        { agent, port, host: '127.0.0.1', method: 'POST', path: `/counters/${name}/increment` },
        (res) => {
          res.resume()
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`))))
        },
      )
      req.on('error', reject)
      req.end()
    })
  const nodes = []
  try {
    const a = await startNode('a', dir, ['--durability', 'async'])
    nodes.push(a)
    let next = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < CATCHUP_N) await inc(a.http, `user:${next++}`)
      }),
    )
    const target = (await get(`${a.url}/stats`)).digest
    const sentBefore = (await get(`${a.url}/stats`)).transport.bytesOut
    let polling = true
    const health = []
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now()
        await get(`${a.url}/health`)
        health.push(performance.now() - t0)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const t0 = performance.now()
    const b = await startNode('b', dir, ['--durability', 'async', '--peers', `127.0.0.1:${a.tcp}`])
    nodes.push(b)
    await until(async () => (await get(`${b.url}/stats`))?.digest === target, 600_000, 50)
    const took = performance.now() - t0
    polling = false
    await poller
    const sent = (await get(`${a.url}/stats`)).transport.bytesOut - sentBefore
    out('catch-up of a new node', {
      counters: CATCHUP_N,
      catchUpMs: ms(took),
      wireMB: Number((sent / 2 ** 20).toFixed(1)),
      seedHealthP50Ms: ms(percentile(health, 50)),
      seedHealthP99Ms: ms(percentile(health, 99)),
      seedHealthMaxMs: ms(Math.max(...health)),
    })
  } finally {
    agent.destroy()
    await stop(nodes)
    rm(dir)
  }
}

if (!globalThis.gc) console.log('(run with node --expose-gc for steadier figures)')
console.log(
  `(machine: ${process.env.BENCH_NOTE ?? 'shared and loaded: compare figures of one run, not across runs'})`,
)
if (what === 'all' || what === 'snapshot' || what === 'restart') await restartFigures()
if (what === 'all' || what === 'log') await logFigures()
if (what === 'all' || what === 'memory') await memoryFigures()
if (what === 'all' || what === 'catchup') await catchupFigures()
