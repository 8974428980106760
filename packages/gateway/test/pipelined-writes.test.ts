import { describe, expect, it } from 'vitest'
import { type FakeNode, startFakes } from './support/fake-node.js'
import { gatewayFor, perTestGateway } from './support/gateway.js'

const t = perTestGateway<FakeNode>()

const post = (origin: string, path: string, key: string, amount: number) =>
  fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount }),
  })

describe('pipelined writes', () => {
  it('concurrent keyed writes share the write channel, each counted once with its own answer', async () => {
    t.fakes = await startFakes(1)
    const [node] = t.fakes as [FakeNode]
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    const origin = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const r = await post(origin, `/counters/w${i % 4}/increment`, `key-${i}`, i + 1)
        expect(r.status).toBe(200)
        return (await r.json()) as { name: string; value: number; node: string }
      }),
    )
    expect(answers.every((a) => a.node === node.id)).toBe(true)
    // A client retry of one key is answered from the record, not counted again.
    const again = await post(origin, '/counters/w0/increment', 'key-0', 1)
    expect(((await again.json()) as { value: number }).value).toBe(answers[0]?.value)
    for (let c = 0; c < 4; c++) {
      const want = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 4 === c)
      expect(node.map.value(`w${c}`)).toBe(want.reduce((s, i) => s + i + 1, 0))
    }
    const writes = node.writes()
    expect(writes).toHaveLength(41)
    expect(writes.every((w) => w.attempt === '1' && w.idempotencyKey?.startsWith('key-'))).toBe(true)
    const entry = t.app.gateway.registry.list()[0]
    expect(entry?.writes?.connections).toBeGreaterThan(0)
    // 40 writes at once: far fewer connections than writes.
    expect(entry?.writes?.connections).toBeLessThanOrEqual(4)
  })

  it('a quorum write does not use the write channel', async () => {
    t.fakes = await startFakes(1)
    t.app = await gatewayFor(t.fakes, { healthIntervalMs: 60_000 })
    const r = await t.app.inject({
      method: 'POST',
      url: '/counters/q/increment?consistency=quorum',
      payload: { amount: 1 },
    })
    expect(r.statusCode).toBe(200)
    expect(t.app.gateway.registry.list()[0]?.writes?.connections).toBe(0)
    const p = await t.app.inject({ method: 'POST', url: '/counters/q/increment', payload: { amount: 1 } })
    expect(p.statusCode).toBe(200)
    expect(t.app.gateway.registry.list()[0]?.writes?.connections).toBe(1)
  })
})
