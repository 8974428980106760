// DNS discovery on the gateway: the name's endpoints become the registry's
// DNS set (HTTP origins), following additions and removals at once; failures
// and bad answers leave it as it was. The lookup is scripted (no resolver).
import type { DnsAnswer } from '@tally/kit'
import { afterEach, describe, expect, it } from 'vitest'
import { dnsSource, originsOf } from '../src/dns-source.js'
import { policyFor } from '../src/health.js'
import { Registry } from '../src/registry.js'
import { strategyFor } from '../src/strategies.js'

const quiet = { debug: () => {}, info: () => {}, warn: () => {} }
const registries: Registry[] = []
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()))
})

function registry(staticNodes: string[] = []): Registry {
  const r = new Registry({
    staticNodes,
    strategy: strategyFor('round-robin'),
    policy: policyFor(1000),
    requestTimeoutMs: 1000,
    now: () => 0,
  })
  registries.push(r)
  return r
}
const keys = (r: Registry) =>
  r
    .list()
    .map((e) => e.key)
    .sort()

describe('originsOf', () => {
  it.each([
    [['127.0.0.21:8010'], ['http://127.0.0.21:8010']],
    [
      ['[fd00::1]:8010', 'node-0.nodes.ns.svc.cluster.local:8010'],
      ['http://[fd00::1]:8010', 'http://node-0.nodes.ns.svc.cluster.local:8010'],
    ],
    [['a:80'], ['http://a']],
    [['bad host:1', 'x:1'], ['http://x:1']],
  ])('%j → %j', (endpoints, want) => {
    expect(originsOf(endpoints)).toEqual(want)
  })
})

describe('dnsSource', () => {
  it('follows the answer: nodes added and removed, bad answers and failures change nothing', async () => {
    const script: Array<DnsAnswer | Error> = [
      { addresses: ['127.0.0.21', '127.0.0.22'] },
      { addresses: ['127.0.0.21', '127.0.0.22', '127.0.0.23'] },
      new Error('SERVFAIL'),
      { addresses: [] },
      { addresses: ['garbage'] },
      { addresses: ['127.0.0.21', '127.0.0.23'] },
    ]
    const r = registry(['http://127.0.0.99:8010'])
    const w = dnsSource(
      r,
      {
        target: { kind: 'a', name: 'nodes', port: 8010 },
        intervalMs: 1000,
        lookup: async () => {
          const next = script.shift()
          if (next === undefined || next instanceof Error) throw next ?? new Error('done')
          return next
        },
      },
      quiet,
    )
    await w.poll()
    expect(keys(r)).toEqual(['http://127.0.0.21:8010', 'http://127.0.0.22:8010', 'http://127.0.0.99:8010'])
    await w.poll()
    expect(keys(r)).toHaveLength(4)
    for (let i = 0; i < 3; i++) await w.poll()
    expect(keys(r)).toHaveLength(4)
    await w.poll()
    expect(keys(r)).toEqual(['http://127.0.0.21:8010', 'http://127.0.0.23:8010', 'http://127.0.0.99:8010'])
  })

  it('keeps a removed node that --nodes also names', async () => {
    const r = registry(['http://127.0.0.21:8010'])
    r.setDnsNodes(['http://127.0.0.21:8010', 'http://127.0.0.22:8010'])
    r.setDnsNodes(['http://127.0.0.22:8010'])
    expect(keys(r)).toEqual(['http://127.0.0.21:8010', 'http://127.0.0.22:8010'])
    r.setDnsNodes(['http://127.0.0.23:8010'])
    expect(keys(r)).toEqual(['http://127.0.0.21:8010', 'http://127.0.0.23:8010'])
  })
})
