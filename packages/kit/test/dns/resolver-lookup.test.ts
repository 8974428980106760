// resolverLookup against a DNS server on loopback (never a real resolver).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDnsServer, type TestDnsServer } from '../../../../test/support/dns-server.ts'
import { DnsWatcher, resolverLookup } from '../../src/dns/dns-watcher.js'

let dns: TestDnsServer

beforeAll(async () => {
  dns = await startDnsServer()
})
afterAll(async () => {
  await dns.close()
})

describe('resolverLookup', () => {
  it('merges A and AAAA records', async () => {
    dns.mode = 'normal'
    dns.set('nodes.test', { a: ['127.0.0.21', '127.0.0.22'], aaaa: ['fd00::1'] })
    const ans = await resolverLookup(dns.address, 1000)({ kind: 'a', name: 'nodes.test', port: 9000 })
    expect(ans).toEqual({ addresses: expect.arrayContaining(['127.0.0.21', '127.0.0.22', 'fd00::1']) })
  })

  it('answers an A-only name without error (no AAAA is not a fault)', async () => {
    dns.set('v4only.test', { a: ['127.0.0.23'] })
    const ans = await resolverLookup(dns.address, 1000)({ kind: 'a', name: 'v4only.test', port: 9000 })
    expect(ans).toEqual({ addresses: ['127.0.0.23'] })
  })

  it('reads SRV targets and ports', async () => {
    dns.set('_gossip._tcp.nodes.test', { srv: [{ target: 'node-0.nodes.test', port: 9000 }] })
    const ans = await resolverLookup(dns.address, 1000)({ kind: 'srv', name: '_gossip._tcp.nodes.test' })
    expect(ans).toEqual({ srv: [expect.objectContaining({ name: 'node-0.nodes.test', port: 9000 })] })
  })

  it('resolves an unknown name to nothing, not an error', async () => {
    const ans = await resolverLookup(dns.address, 1000)({ kind: 'a', name: 'missing.test', port: 9000 })
    expect(ans).toEqual({ addresses: [] })
  })

  it('rejects on SERVFAIL and on garbage answers', async () => {
    dns.set('nodes.test', { a: ['127.0.0.21'] })
    for (const mode of ['servfail', 'garbage'] as const) {
      dns.mode = mode
      await expect(
        resolverLookup(dns.address, 300)({ kind: 'a', name: 'nodes.test', port: 9000 }),
      ).rejects.toThrow()
    }
    dns.mode = 'normal'
  })

  it('a watcher keeps its list through garbage answers and follows the next good one', async () => {
    dns.set('follow.test', { a: ['127.0.0.21', '127.0.0.22'] })
    const w = new DnsWatcher({
      target: { kind: 'a', name: 'follow.test', port: 9000 },
      intervalMs: 1000,
      lookup: resolverLookup(dns.address, 300),
      onChange: () => {},
      logger: { debug: () => {}, info: () => {}, warn: () => {} },
    })
    expect(await w.poll()).toBe('changed')
    dns.mode = 'garbage'
    expect(await w.poll()).toBe('failed')
    dns.mode = 'normal'
    dns.set('follow.test', { a: [] })
    expect(await w.poll()).toBe('empty')
    expect(w.endpoints).toEqual(['127.0.0.21:9000', '127.0.0.22:9000'])
    dns.set('follow.test', { a: ['127.0.0.22'] })
    expect(await w.poll()).toBe('changed')
    expect(w.endpoints).toEqual(['127.0.0.22:9000'])
  })
})
