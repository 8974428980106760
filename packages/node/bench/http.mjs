// HTTP increment throughput of one tally-node vs a bare fastify route doing
// nothing but answering (bare-server.mjs, its own process), in the same run, with autocannon (same connections,
// duration, body), 3 alternating rounds, medians. With `keyed`, every node
// request carries a fresh Idempotency-Key (the bare route gets the same
// header); with `nodes` > 1 the writes go to the first node of a cluster, so
// its peers also take in the replicated deltas (and key records).
// Usage: node bench/http.mjs [durationSec] [connections] [durability] [keyed] [nodes]

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { cluster, rm, stop, tempDir } from './lib.mjs'

const ROUNDS = 3

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

let nextKey = 0

function cannon(url, duration, connections, keyed = false) {
  const headers = { 'content-type': 'application/json' }
  const keyedRequests = [
    {
      setupRequest: (req) => ({
        ...req,
        headers: { ...req.headers, 'idempotency-key': `bench-${process.pid}-${nextKey++}` },
      }),
    },
  ]
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        duration,
        connections,
        body: '{"amount":1}',
        headers,
        ...(keyed ? { requests: keyedRequests } : {}),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

export async function httpBench(
  duration = 5,
  connections = 32,
  durability = 'sync',
  keyed = false,
  nodes = 1,
) {
  const server = spawn(process.execPath, [fileURLToPath(new URL('./bare-server.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise((resolve) =>
    server.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
  )
  const bareUrl = `http://127.0.0.1:${port}/increment`
  const dir = tempDir()
  const all = await cluster(nodes, dir, ['--durability', durability])
  const tally = all[0]
  const nodeUrl = tally.url
  try {
    await cannon(bareUrl, 1, connections, keyed) // warm-up
    await cannon(`${nodeUrl}/increment`, 1, connections, keyed)
    // Alternate baseline and node runs and keep medians: load from other
    // processes on a shared machine then hits both sides alike.
    const bare = []
    const node = []
    let last
    for (let i = 0; i < ROUNDS; i++) {
      bare.push((await cannon(bareUrl, duration, connections, keyed)).requests.average)
      last = await cannon(`${nodeUrl}/increment`, duration, connections, keyed)
      node.push(last.requests.average)
    }
    const b = median(bare)
    const t = median(node)
    return {
      durability,
      connections,
      keyed,
      nodes,
      bareReqPerSec: Math.round(b),
      nodeReqPerSec: Math.round(t),
      ratio: Math.round((t / b) * 100) / 100,
      nodeP50ms: last.latency.p50,
      nodeP99ms: last.latency.p99,
      errors: last.errors + last.non2xx,
    }
  } finally {
    server.kill('SIGTERM')
    await stop(all)
    rm(dir)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [d = '5', c = '32', dur = 'sync', keyed = 'false', n = '1'] = process.argv.slice(2)
  console.log(JSON.stringify(await httpBench(Number(d), Number(c), dur, keyed === 'true', Number(n))))
}
