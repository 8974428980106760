// Baseline for bench/http.mjs: a bare fastify POST /increment in its own
// process (like the node), answering from memory. Prints its port on stdout.
import Fastify from 'fastify'

const server = Fastify()
let v = 0
server.post('/increment', async (req) => {
  v += req.body?.amount ?? 1
  return { name: 'default', value: v }
})
await server.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${server.server.address().port}\n`)
process.on('SIGTERM', () => server.close().then(() => process.exit(0)))
