// Durable increments per second at one tally-node over HTTP (autocannon) with
// 1, 10 and 100 concurrent clients, as a ratio to a bare fastify route (in its
// own process, like the node) measured in the same run, same connections.
// Usage: node bench/durability.mjs [durationSec=5] [durability=sync|async|both]
// Needs the build (npm run build). Machines are noisy: compare ratios, not rates.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CounterMap } from '@tally/crdt'
import autocannon from 'autocannon'
import { cluster, rm, stop, tempDir } from './lib.mjs'

const duration = Number(process.argv[2] ?? 5)
const which = process.argv[3] ?? 'both'
const modes = which === 'both' ? ['sync', 'async'] : [which]
const CLIENTS = [1, 10, 100]

function cannon(url, seconds, connections) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        duration: seconds,
        connections,
        body: '{"amount":1}',
        headers: { 'content-type': 'application/json' },
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
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
  const { LevelStore } = await import(fileURLToPath(new URL('../dist/level-store.js', import.meta.url)))
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

const bare = await bareServer()
try {
  for (const durability of modes) {
    const dir = tempDir()
    const [node] = await cluster(1, dir, ['--durability', durability])
    try {
      await cannon(bare.url, 1, 10) // warm-up both
      await cannon(`${node.url}/increment`, 1, 10)
      for (const c of CLIENTS) {
        const b = await cannon(bare.url, duration, c)
        const t = await cannon(`${node.url}/increment`, duration, c)
        const row = {
          durability,
          clients: c,
          bareReqPerSec: Math.round(b.requests.average),
          nodeReqPerSec: Math.round(t.requests.average),
          ratio: Math.round((t.requests.average / b.requests.average) * 100) / 100,
          nodeP50ms: t.latency.p50,
          nodeP99ms: t.latency.p99,
          errors: t.errors + t.non2xx,
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
