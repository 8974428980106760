import { describe, expect, it } from 'vitest'
import { AckCollector } from '../../src/replication/ack-collector.js'

describe('AckCollector', () => {
  it('resolves once enough distinct nodes confirmed; duplicates count once', async () => {
    const c = new AckCollector()
    const { id, result } = c.open(2, 10_000)
    c.ack(id, 'a')
    c.ack(id, 'a')
    expect(c.pending).toBe(1)
    c.ack(id, 'b')
    expect(await result).toBe(2)
    expect(c.pending).toBe(0)
    c.ack(id, 'c') // late ack: ignored
  })

  it('resolves with what it has on timeout or finishAll', async () => {
    const c = new AckCollector()
    const t = c.open(3, 20)
    c.ack(t.id, 'a')
    expect(await t.result).toBe(1)
    const f = c.open(3, 10_000)
    c.finishAll()
    expect(await f.result).toBe(0)
    expect(await c.open(0, 10_000).result).toBe(0)
  })
})
