// Second baseline for bench/keyed.mjs (BENCH_HOUSE=1): POST /increment on the
// node's own fastify base (@tally/kit createFastify with the node's options,
// timeouts and JSON parser, the node's body/query schemas, a pino logger at
// info, an onResponse hook reading the elapsed time as the metrics hook
// does), answering from memory like bare-server.mjs. bare → house is what the
// house base costs; house → node is the node's own work (apply, log, metrics).
// Prints its port on stdout.
import { createFastify } from '@tally/kit'
import pino from 'pino'
import { NODE_DEFAULTS } from '../dist/defaults.js'
import { mutateBody, mutateQuery } from '../dist/http/schemas.js'

const app = createFastify({
  logger: pino({ level: 'info' }, pino.destination('/dev/null')),
  bodyLimit: 4096,
  fastify: {
    connectionTimeout: NODE_DEFAULTS.httpConnectionTimeoutMs,
    requestTimeout: NODE_DEFAULTS.httpRequestTimeoutMs,
    keepAliveTimeout: NODE_DEFAULTS.httpKeepAliveTimeoutMs,
  },
  maxParamLength: 1024,
  errors: { status: {} },
})
let v = 0
// Summed like the node's write histogram, so the hook does the same kind of work.
const timed = { seconds: 0 }
const schema = { querystring: mutateQuery, body: mutateBody }
const onResponse = (_req, reply, done) => {
  timed.seconds += reply.elapsedTime / 1000
  done()
}
app.post('/increment', { schema, onResponse }, async (req) => {
  v += req.body?.amount ?? 1
  return { name: 'default', value: v }
})
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${app.server.address().port}\n`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
