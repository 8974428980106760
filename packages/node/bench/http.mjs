// HTTP increment throughput of one tally-node vs a bare fastify route doing
// nothing but answering, in the same run, with autocannon (same connections,
// duration, body). Usage: node bench/http.mjs [durationSec] [connections] [durability]
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { cluster, rm, stop, tempDir } from './lib.mjs'

function cannon(url, duration, connections) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        duration,
        connections,
        body: '{"amount":1}',
        headers: { 'content-type': 'application/json' },
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

export async function httpBench(duration = 5, connections = 32, durability = 'sync') {
  const bare = Fastify()
  let v = 0
  bare.post('/increment', async (req) => {
    v += req.body?.amount ?? 1
    return { name: 'default', value: v }
  })
  await bare.listen({ host: '127.0.0.1', port: 0 })
  const bareUrl = `http://127.0.0.1:${bare.server.address().port}/increment`
  const dir = tempDir()
  const [node] = await cluster(1, dir, ['--durability', durability])
  try {
    await cannon(bareUrl, 1, connections) // warm-up
    await cannon(`${node.url}/increment`, 1, connections)
    const b = await cannon(bareUrl, duration, connections)
    const t = await cannon(`${node.url}/increment`, duration, connections)
    return {
      durability,
      connections,
      bareReqPerSec: Math.round(b.requests.average),
      nodeReqPerSec: Math.round(t.requests.average),
      ratio: Math.round((t.requests.average / b.requests.average) * 100) / 100,
      nodeP50ms: t.latency.p50,
      nodeP99ms: t.latency.p99,
      errors: t.errors + t.non2xx,
    }
  } finally {
    await bare.close()
    await stop([node])
    rm(dir)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [d = '5', c = '32', dur = 'sync'] = process.argv.slice(2)
  console.log(JSON.stringify(await httpBench(Number(d), Number(c), dur)))
}
