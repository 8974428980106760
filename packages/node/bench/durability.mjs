// Durable increments per second at one tally-node over HTTP (autocannon) with
// 1, 10 and 100 concurrent clients, as a ratio to a bare fastify route (in its
// own process, like the node) measured in the same run, same connections.
// Usage: node bench/durability.mjs [durationSec=5] [durability=sync|async|both] [reps=3]
// Needs the build (npm run build). Machines are noisy: compare ratios, not rates.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CounterMap } from '@tally/crdt'
import { cluster, postLoad, rm, stop, tempDir } from './lib.mjs'

const duration = Number(process.argv[2] ?? 5)
const which = process.argv[3] ?? 'both'
const modes = which === 'both' ? ['sync', 'async'] : [which]
const CLIENTS = [1, 10, 100]
const reps = Number(process.argv[4] ?? 3)
if (!(duration > 0) || !['sync', 'async', 'both'].includes(which) || !(Number.isInteger(reps) && reps >= 1)) {
  console.error('usage: node bench/durability.mjs [durationSec>0] [sync|async|both] [reps>=1]')
  process.exit(2)
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** A bare fastify POST route in a child process; resolves with its URL and the child. */
async function bareServer() {
  const script = `
    import Fastify from 'fastify'
    const app = Fastify()
    let v = 0
    app.post('/increment', async (req) => { v += req.body?.amount ?? 1; return { name: 'default', value: v } })
    await app.listen({ host: '127.0.0.1', port: 0 })
    process.stdout.write(app.server.address().port + '\\n')
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = await once(child.stdout, 'data')
  return { url: `http://127.0.0.1:${String(chunk).trim()}/increment`, child }
}

/** Store API alone: `c` appenders each awaiting its own appendLocal for `seconds`; ops/s and ops per fsync. */
async function groupCommit(c, seconds) {
  const { LevelStore } = await import(
    fileURLToPath(new URL('../dist/storage/level-store.js', import.meta.url))
  )
  const dir = tempDir()
  const store = new LevelStore({ dataDir: dir, durability: 'sync', snapshotEveryOps: Infinity })
  const rec = await store.open('bench')
  const map = new CounterMap(rec.identity.replicaId)
  const end = Date.now() + seconds * 1000
  let ops = 0
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (Date.now() < end) {
        map.increment('c', 1)
        await store.appendLocal(map.deltaFor(map.replica, map.seq - 1))
        ops++
      }
    }),
  )
  const { syncs } = store.stats
  await store.close()
  rm(dir)
  return {
    appenders: c,
    opsPerSec: Math.round(ops / seconds),
    fsyncs: syncs,
    opsPerFsync: Math.round((ops / syncs) * 10) / 10,
  }
}

for (const c of CLIENTS)
  console.log(JSON.stringify({ store: 'sync group commit', ...(await groupCommit(c, duration)) }))

/** RSS of a live node before/after writing `n` distinct counters over HTTP (64 at a time). */
async function rssPerCounter(n) {
  const { readFileSync } = await import('node:fs')
  const rss = (pid) =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) * 1024
  const dir = tempDir()
  const [node] = await cluster(1, dir, ['--durability', 'async'])
  try {
    const post = (name) =>
      fetch(`${node.url}/counters/${name}/increment`, { method: 'POST' }).then((r) => r.text())
    for (let i = 0; i < 2000; i += 64)
      await Promise.all(Array.from({ length: 64 }, (_, k) => post(`warm-${i + k}`)))
    await new Promise((r) => setTimeout(r, 2000))
    const before = rss(node.child.pid)
    for (let i = 0; i < n; i += 64)
      await Promise.all(Array.from({ length: 64 }, (_, k) => post(`counter-${i + k}`)))
    await new Promise((r) => setTimeout(r, 2000))
    const after = rss(node.child.pid)
    return { counters: n, rssBytesPerCounter: Math.round((after - before) / n) }
  } finally {
    await stop([node])
    rm(dir)
  }
}

if (process.platform === 'linux')
  console.log(JSON.stringify({ live: 'node RSS per counter', ...(await rssPerCounter(50_000)) }))

const bare = await bareServer()
try {
  for (const durability of modes) {
    const dir = tempDir()
    const [node] = await cluster(1, dir, ['--durability', durability])
    try {
      await postLoad(bare.url, 1, 10) // warm-up both
      await postLoad(`${node.url}/increment`, 1, 10)
      for (const c of CLIENTS) {
        // Alternate bare and node `reps` times; report medians (ratio per pair, then the median ratio).
        const pairs = []
        for (let i = 0; i < reps; i++) {
          const b = await postLoad(bare.url, duration, c)
          const t = await postLoad(`${node.url}/increment`, duration, c)
          pairs.push({ b, t, ratio: t.requests.average / b.requests.average })
        }
        const med = (f) => median(pairs.map(f))
        const row = {
          durability,
          clients: c,
          reps,
          bareReqPerSec: Math.round(med((p) => p.b.requests.average)),
          nodeReqPerSec: Math.round(med((p) => p.t.requests.average)),
          ratio: Math.round(med((p) => p.ratio) * 100) / 100,
          nodeP50ms: med((p) => p.t.latency.p50),
          nodeP99ms: med((p) => p.t.latency.p99),
          errors: pairs.reduce((n, p) => n + p.t.errors + p.t.non2xx, 0),
        }
        console.log(JSON.stringify(row))
      }
    } finally {
      await stop([node])
      rm(dir)
    }
  }
} finally {
  bare.child.kill('SIGKILL')
}
