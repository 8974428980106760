// A fake Tally node for gateway tests: a small fastify app on 127.0.0.1
// implementing the node HTTP API over a real CounterMap, honouring
// Idempotency-Key, with switchable failure modes.

import type { AddressInfo } from 'node:net'
import { CounterMap } from '@tally/crdt'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

type R = FastifyRequest<{
  Params: { name: string }
  Body: { amount?: number } | undefined
  Querystring: { name?: string }
}>

/** How the fake answers: normally, with HTTP 500, never (hang), or by resetting the connection. */
export type Mode = 'ok' | 'error' | 'hang' | 'reset'

/** Requests the fake saw (for asserting what the gateway sent). */
export interface Seen {
  method: string
  url: string
  idempotencyKey: string | undefined
  /** The Tally-Attempt header (which try of a write this was). */
  attempt: string | undefined
  body: unknown
}

/** One fake node. `close()` makes its port refuse connections; `restart()` listens on the same port again. */
export class FakeNode {
  readonly id: string
  readonly map: CounterMap
  mode: Mode = 'ok'
  /** Mode for writes only (reads keep `mode`). */
  writeMode: Mode | undefined
  /** Fake load reported in /health. */
  load = { inflight: 0, eventLoopDelayMs: 0 }
  /** Answer writes with this status/body instead (e.g. 504 quorum timeout), after applying them. */
  writeAnswer: { status: number; body: unknown } | undefined
  /** Delay before a write is answered, ms (a node waiting for quorum acks). */
  writeDelayMs = 0
  /**
   * Delay before a read (`/counter`, `/counters/:name`, `/state`) is answered, ms. The answer
   * is the state when the read arrived, as a node's would be while its answer travels back.
   */
  readDelayMs = 0
  readonly seen: Seen[] = []
  /** Rate-limit hits counted, by limit name. */
  readonly hits = new Map<string, number>()
  port = 0
  #app: FastifyInstance | undefined

  /** Back to answering normally: `mode` ok, no write-only mode, no substitute write answer. */
  answerNormally(): void {
    this.mode = 'ok'
    this.writeMode = undefined
    this.writeAnswer = undefined
  }

  /**
   * `idem` is the key table: pass one map to several fakes to stand for a cluster, whose
   * nodes replicate key records, so a retry on another node is answered from the record.
   */
  constructor(
    id: string,
    readonly idem = new Map<string, { name: string; value: number }>(),
  ) {
    this.id = id
    this.map = new CounterMap(id)
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Listens on 127.0.0.1 (port 0 the first time, the same port after). */
  async start(): Promise<this> {
    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      routerOptions: { maxParamLength: 256 },
    })
    this.#app = app
    const failing = async (req: R, write: boolean) => {
      const mode = write ? (this.writeMode ?? this.mode) : this.mode
      if (mode === 'hang') return new Promise<'hang'>(() => {})
      if (mode === 'reset') {
        req.raw.socket.destroy()
        return 'reset'
      }
      if (mode === 'error') return 'error'
      return undefined
    }
    app.addHook('onRequest', async (req) => {
      this.seen.push({
        method: req.method,
        url: req.url,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        attempt: req.headers['tally-attempt'] as string | undefined,
        body: undefined,
      })
    })
    app.addHook('preHandler', async (req) => {
      const last = this.seen[this.seen.length - 1]
      if (last) last.body = req.body
    })
    const err500 = { error: { code: 'TALLY_INTERNAL', message: 'injected failure' } }
    const write = (op: 'increment' | 'decrement', fixed?: string) => async (req: R, reply: FastifyReply) => {
      const name: string = fixed ?? req.params.name
      const amount: number = req.body?.amount ?? 1
      const key = req.headers['idempotency-key'] as string | undefined
      const prior = key !== undefined ? this.idem.get(key) : undefined
      if (prior) return prior
      const f = await failing(req, true)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      const value = op === 'increment' ? this.map.increment(name, amount) : this.map.decrement(name, amount)
      const out = { name, value }
      if (key !== undefined) this.idem.set(key, out)
      if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs))
      if (this.writeAnswer) return reply.code(this.writeAnswer.status).send(this.writeAnswer.body)
      return out
    }
    const read = (fixed?: string) => async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      const name: string = fixed ?? req.params.name
      const out = { name, value: this.map.value(name) }
      if (this.readDelayMs > 0) await new Promise((r) => setTimeout(r, this.readDelayMs))
      return out
    }
    app.post('/increment', write('increment', 'default'))
    app.post('/decrement', write('decrement', 'default'))
    app.post('/counters/:name/increment', write('increment'))
    app.post('/counters/:name/decrement', write('decrement'))
    // Rate-limit hits: every hit allowed, counted in `hits` (by name), a repeated key answered once.
    app.post('/limits/:name/hit', async (req: R, reply: FastifyReply) => {
      const body = req.body as unknown as { limit: number; amount?: number }
      const key = req.headers['idempotency-key'] as string | undefined
      const f = await failing(req, true)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      if (this.writeAnswer) return reply.code(this.writeAnswer.status).send(this.writeAnswer.body)
      if (key === undefined || !this.idem.has(key)) {
        this.hits.set(req.params.name, (this.hits.get(req.params.name) ?? 0) + (body.amount ?? 1))
        if (key !== undefined) this.idem.set(key, { name: req.params.name, value: 0 })
      }
      return { allowed: true, limit: body.limit, remaining: body.limit - 1, resetMs: 1000 }
    })
    app.get('/counter', read('default'))
    app.get('/counters/:name', read())
    app.get('/counters', async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      return { counters: this.map.names().map((name) => ({ name, value: this.map.value(name) })) }
    })
    app.get('/state', async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      const name = req.query.name as string | undefined
      const out = name === undefined ? this.map.state() : this.map.state([name])
      if (this.readDelayMs > 0) await new Promise((r) => setTimeout(r, this.readDelayMs))
      return out
    })
    // The parts of the node's /stats and /metrics the dashboard's poll reads.
    app.get('/stats', async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      return {
        id: this.id,
        digest: this.map.digest(),
        peers: { live: 0, suspect: 0, dead: 0 },
        load: this.load,
      }
    })
    app.get('/metrics', async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      reply.type('text/plain; version=0.0.4')
      return `tally_writes_total{op="increment",result="ok"} ${this.seen.filter((x) => x.method === 'POST').length}\n`
    })
    app.get('/health', async (req: R, reply: FastifyReply) => {
      const f = await failing(req, false)
      if (f === 'reset') return reply
      if (f === 'error') return reply.code(500).send(err500)
      return {
        id: this.id,
        replica: `${this.id}.1`,
        status: 'ok',
        peers: { live: 0, suspect: 0, dead: 0 },
        uptime: 1,
        load: this.load,
      }
    })
    await app.listen({ host: '127.0.0.1', port: this.port })
    this.port = (app.server.address() as AddressInfo).port
    return this
  }

  /** Stops listening (connection refused from now on). */
  async close(): Promise<void> {
    const app = this.#app
    this.#app = undefined
    if (app) await app.close()
  }

  /** Listens again on the same port. */
  async restart(): Promise<this> {
    await this.close()
    return this.start()
  }

  /** Writes this fake has seen (method POST). */
  writes(): Seen[] {
    return this.seen.filter((s) => s.method === 'POST')
  }
}

/** Starts `n` fake nodes `n1..nn` sharing one key table (key records replicate in a real cluster). */
export async function startFakes(n: number): Promise<FakeNode[]> {
  const keys = new Map<string, { name: string; value: number }>()
  return Promise.all(Array.from({ length: n }, (_, i) => new FakeNode(`n${i + 1}`, keys).start()))
}
