// Read coalescing: concurrent identical reads share one upstream request, and
// a read only ever joins a request issued after it arrived (so a write
// acknowledged before a read was sent is always seen by that read).

import type { AddressInfo } from 'node:net'
import { prng, until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { ReadCoalescer } from '../src/read-coalescer.js'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'

const t = perTestGateway<FakeNode>()

/** A promise and its settle functions, for driving the coalescer by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('ReadCoalescer', () => {
  it('reads arriving while a request is in flight wait for it, then share ONE new request', async () => {
    const c = new ReadCoalescer<number>()
    const upstream: Array<ReturnType<typeof deferred<number>>> = []
    const fetch = () => {
      const d = deferred<number>()
      upstream.push(d)
      return d.promise
    }
    const first = c.run('k', fetch)
    expect(upstream.length).toBe(1)
    // Arrive while the first is in flight: they must not get its answer.
    const later = [c.run('k', fetch), c.run('k', fetch), c.run('k', fetch)]
    expect(upstream.length).toBe(1)
    upstream[0]?.resolve(1)
    expect(await first).toBe(1)
    // The first settled: exactly one new request for the three waiting reads.
    expect(upstream.length).toBe(2)
    upstream[1]?.resolve(2)
    expect(await Promise.all(later)).toEqual([2, 2, 2])
    expect(c.counts()).toEqual({ issued: 2, joined: 2 })
    expect(c.inFlight).toBe(0)
  })

  it('different keys never share a request', async () => {
    const c = new ReadCoalescer<string>()
    let n = 0
    const fetch = (k: string) => () => Promise.resolve(`${k}${++n}`)
    const got = await Promise.all([c.run('a', fetch('a')), c.run('b', fetch('b'))])
    expect(got).toEqual(['a1', 'b2'])
    expect(c.counts()).toEqual({ issued: 2, joined: 0 })
  })

  it('a failed request fails the reads that shared it, and the waiting batch still gets its own request', async () => {
    const c = new ReadCoalescer<number>()
    const upstream: Array<ReturnType<typeof deferred<number>>> = []
    const fetch = () => {
      const d = deferred<number>()
      upstream.push(d)
      return d.promise
    }
    const first = c.run('k', fetch)
    const waiting = c.run('k', fetch)
    upstream[0]?.reject(new Error('node down'))
    await expect(first).rejects.toThrow('node down')
    expect(upstream.length).toBe(2)
    upstream[1]?.resolve(7)
    expect(await waiting).toBe(7)
    expect(c.inFlight).toBe(0)
  })

  it('with joinUntil, reads share a request until it is closed, then wait for the next', async () => {
    let close: (() => void) | undefined
    const c = new ReadCoalescer<number>({
      joinUntil: (f) => {
        close = f
      },
    })
    const upstream: Array<ReturnType<typeof deferred<number>>> = []
    const fetch = () => {
      const d = deferred<number>()
      upstream.push(d)
      return d.promise
    }
    const first = c.run('k', fetch)
    // Not sent yet: these share the first request.
    const same = [c.run('k', fetch), c.run('k', fetch)]
    expect(upstream.length).toBe(1)
    close?.()
    // Sent: a read now must not get its answer.
    const later = c.run('k', fetch)
    upstream[0]?.resolve(1)
    expect(await Promise.all([first, ...same])).toEqual([1, 1, 1])
    expect(upstream.length).toBe(2)
    upstream[1]?.resolve(2)
    expect(await later).toBe(2)
    expect(c.counts()).toEqual({ issued: 2, joined: 2 })
  })

  it('with joinUntil, a request that settles before it is closed is not joined any more', async () => {
    const c = new ReadCoalescer<number>({ joinUntil: () => {} })
    let n = 0
    const fetch = () => Promise.resolve(++n)
    expect(await c.run('k', fetch)).toBe(1)
    expect(await c.run('k', fetch)).toBe(2)
  })

  it('a read after an answer (same key) starts a new request', async () => {
    const c = new ReadCoalescer<number>()
    let n = 0
    const fetch = () => Promise.resolve(++n)
    expect(await c.run('k', fetch)).toBe(1)
    expect(await c.run('k', fetch)).toBe(2)
    expect(c.counts()).toEqual({ issued: 2, joined: 0 })
  })
})

/** Listens the gateway on 127.0.0.1:0 and returns its origin. */
async function listen(gw: FastifyInstance): Promise<string> {
  await gw.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(gw.server.address() as AddressInfo).port}`
}

const readsAt = (f: FakeNode, path: string): number =>
  f.seen.filter((s) => s.method === 'GET' && s.url === path).length

describe('read coalescing through the gateway (HTTP)', () => {
  it('N concurrent identical reads reach the node as far fewer requests, all answered', async () => {
    t.fakes = await startFakes(1)
    const [node] = t.fakes as [FakeNode]
    node.map.increment('default', 5)
    node.readDelayMs = 50
    t.app = await gatewayFor(t.fakes)
    const origin = await listen(t.app)
    const n = 40
    const answers = await Promise.all(
      Array.from({ length: n }, async () => {
        const r = await fetch(`${origin}/counter`)
        return { status: r.status, body: (await r.json()) as { value: number; node: string } }
      }),
    )
    expect(answers.every((a) => a.status === 200 && a.body.value === 5 && a.body.node === 'n1')).toBe(true)
    const upstream = readsAt(node, '/counter')
    expect(upstream).toBeGreaterThanOrEqual(1)
    expect(upstream).toBeLessThan(n / 4)
    const { issued, joined } = t.app.gateway.reads.plain.counts()
    expect(issued + joined).toBe(n)
    expect(issued).toBe(upstream)
    const metrics = await (await fetch(`${origin}/metrics`)).text()
    expect(metrics).toContain(`tally_gateway_reads_coalesced_total ${joined}`)
  })

  it('reads made in one event-loop turn share one node request; a read after the request left waits for the next', async () => {
    t.fakes = await startFakes(1)
    const [node] = t.fakes as [FakeNode]
    node.map.increment('default', 2)
    t.app = await gatewayFor(t.fakes)
    await t.app.ready()
    const gw = t.app.gateway
    const before = readsAt(node, '/counter')
    node.readDelayMs = 100
    // Five reads in one turn: the request is written at the end of the turn, after all of them arrived.
    const turn = Array.from({ length: 5 }, () => gw.read('/counter'))
    await new Promise((r) => setImmediate(r))
    await until(() => readsAt(node, '/counter') === before + 1, {
      what: 'the node got the read',
      timeoutMs: 5000,
    })
    // The request has left: this read must not share its answer.
    node.map.increment('default', 1)
    const after = gw.read('/counter')
    const values = (await Promise.all(turn)).map((s) => (s.json as { value: number }).value)
    expect(values).toEqual([2, 2, 2, 2, 2])
    expect((await after).json).toMatchObject({ value: 3 })
    expect(readsAt(node, '/counter')).toBe(before + 2)
    expect(gw.reads.plain.counts()).toMatchObject({ joined: 4 })
  })

  it('consistency reads of one counter share a merge; other counters and levels do not', async () => {
    t.fakes = await startFakes(3)
    for (const f of t.fakes) {
      f.map.increment('a', 1)
      f.readDelayMs = 50
    }
    t.app = await gatewayFor(t.fakes)
    const origin = await listen(t.app)
    const get = async (url: string) => (await fetch(`${origin}${url}`)).json() as Promise<{ value: number }>
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => get('/counters/a?consistency=all')),
      get('/counters/b?consistency=all'),
      get('/counters/a?consistency=quorum'),
    ])
    // Every fake holds its own replica's +1 of `a`: `all` merges three of them, quorum two.
    expect(answers.slice(0, 20).every((a) => a.value === 3)).toBe(true)
    expect(answers[20]?.value).toBe(0)
    expect(answers[21]?.value).toBe(2)
    const states = t.fakes.reduce((s, f) => s + f.seen.filter((x) => x.url.startsWith('/state')).length, 0)
    // Uncoalesced: 20×3 + 3 + 2 = 65 state reads.
    expect(states).toBeLessThan(20)
    expect(t.app.gateway.reads.merged.counts().joined).toBeGreaterThan(0)
  })

  it('read-your-writes holds under concurrency: a read sent after a write was acknowledged sees it', async () => {
    t.fakes = await startFakes(1)
    const [node] = t.fakes as [FakeNode]
    // Reads take long enough that reads always overlap: every read finds one in flight
    // whose answer (taken when the node received it) predates the writes around it.
    node.readDelayMs = 15
    t.app = await gatewayFor(t.fakes)
    const origin = await listen(t.app)
    const rand = prng(16)
    let stale = 0
    // Background readers keep a read of `default` in flight all the time.
    let running = true
    const background = Array.from({ length: 5 }, async () => {
      while (running) await (await fetch(`${origin}/counter`)).json()
    })
    const writer = async (): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        const w = await fetch(`${origin}/increment`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ amount: 1 + Math.floor(rand() * 3) }),
        })
        const acked = ((await w.json()) as { value: number }).value
        const r = (await (await fetch(`${origin}/counter`)).json()) as { value: number }
        // The counter only grows: a read sent after the write must see at least its value.
        if (r.value < acked) stale++
      }
    }
    try {
      await Promise.all(Array.from({ length: 4 }, writer))
    } finally {
      running = false
      await Promise.all(background)
    }
    expect(stale).toBe(0)
    // …and the reads were coalesced while this held.
    expect(t.app.gateway.reads.plain.counts().joined).toBeGreaterThan(0)
  })
})
