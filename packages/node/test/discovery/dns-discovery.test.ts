// DNS discovery on a node: answers become membership seeds, addresses the
// name stops listing are forgotten, our own address is left alone, and bad
// answers change nothing. The lookup is scripted (no resolver).
import type { DnsAnswer } from '@tally/kit'
import { describe, expect, it } from 'vitest'
import { DnsDiscovery, membershipChanges } from '../../src/discovery/dns-discovery.js'

describe('membershipChanges', () => {
  it.each([
    [{ added: ['a:1', 'b:1'], removed: [] }, 'a:1', { seed: ['b:1'], forget: [] }],
    [{ added: [], removed: ['a:1', 'c:1'] }, 'a:1', { seed: [], forget: ['c:1'] }],
    [{ added: ['d:1'], removed: ['c:1'] }, 'x:1', { seed: ['d:1'], forget: ['c:1'] }],
    [{ added: [], removed: [] }, 'x:1', { seed: [], forget: [] }],
  ])('%j (self %s) → %j', (diff, self, want) => {
    expect(membershipChanges(diff, self)).toEqual(want)
  })
})

describe('DnsDiscovery', () => {
  it('seeds what the name lists and forgets what it drops', async () => {
    const script: Array<DnsAnswer | Error> = [
      { addresses: ['127.0.0.21', '127.0.0.22'] },
      new Error('ETIMEOUT'),
      { addresses: ['not an address'] },
      { addresses: ['127.0.0.21', '127.0.0.22', '127.0.0.23'] },
      { addresses: ['127.0.0.21', '127.0.0.23'] },
    ]
    const seeded: string[][] = []
    const forgotten: string[][] = []
    const d = new DnsDiscovery(
      {
        target: { kind: 'a', name: 'nodes', port: 9000 },
        intervalMs: 60_000,
        logger: { debug: () => {}, info: () => {}, warn: () => {} },
        seed: (a) => seeded.push(a),
        forget: (a) => forgotten.push(a),
        lookup: async () => {
          const next = script.shift()
          if (next === undefined || next instanceof Error) throw next ?? new Error('done')
          return next
        },
      },
      { addr: '127.0.0.21:9000' },
    )
    expect(await d.poll()).toBe('changed')
    expect(seeded).toEqual([['127.0.0.22:9000']])
    expect(await d.poll()).toBe('failed')
    expect(await d.poll()).toBe('empty')
    expect(d.endpoints).toEqual(['127.0.0.21:9000', '127.0.0.22:9000'])
    expect(await d.poll()).toBe('changed')
    expect(seeded).toEqual([['127.0.0.22:9000'], ['127.0.0.23:9000']])
    expect(forgotten).toEqual([])
    expect(await d.poll()).toBe('changed')
    expect(forgotten).toEqual([['127.0.0.22:9000']])
  })

  it('start() returns at once and resolves in the background; stop() ends it', async () => {
    let release: (a: DnsAnswer) => void = () => {}
    const seeded: string[][] = []
    const d = new DnsDiscovery(
      {
        target: { kind: 'a', name: 'nodes', port: 9000 },
        intervalMs: 60_000,
        logger: { debug: () => {}, info: () => {}, warn: () => {} },
        seed: (a) => seeded.push(a),
        forget: () => {},
        lookup: () => new Promise<DnsAnswer>((resolve) => (release = resolve)),
      },
      { addr: '127.0.0.21:9000' },
    )
    d.start()
    expect(seeded).toEqual([])
    release({ addresses: ['127.0.0.22'] })
    await expect.poll(() => seeded).toEqual([['127.0.0.22:9000']])
    await d.stop()
  })
})
