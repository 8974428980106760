#!/usr/bin/env node
// Minimal stand-in for tally-node used by the bench only when the real node is not built:
// node bench/fake-node.mjs <port> <id>
import { CounterMap } from '@tally/crdt'
import Fastify from 'fastify'

const [port, id] = process.argv.slice(2)
const map = new CounterMap(id)
const app = Fastify({ logger: false })
app.get('/health', async () => ({ id, status: 'ok', load: { inflight: 0, eventLoopDelayMs: 0 } }))
app.get('/counter', async () => ({ name: 'default', value: map.value('default') }))
app.post('/increment', async (req) => ({
  name: 'default',
  value: map.increment('default', req.body?.amount ?? 1),
}))
await app.listen({ host: '127.0.0.1', port: Number(port) })
