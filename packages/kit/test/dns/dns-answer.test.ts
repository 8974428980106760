import { describe, expect, it } from 'vitest'
import { diffEndpoints, endpointsOf, joinHostPort } from '../../src/dns/dns-answer.js'
import type { DnsTarget } from '../../src/dns/dns-target.js'

const A: DnsTarget = { kind: 'a', name: 'nodes', port: 9000 }
const SRV: DnsTarget = { kind: 'srv', name: '_gossip._tcp.nodes' }

describe('endpointsOf', () => {
  it.each<[string, DnsTarget, Parameters<typeof endpointsOf>[1], string[] | undefined]>([
    [
      'A records with the port, sorted',
      A,
      { addresses: ['127.0.0.23', '127.0.0.21'] },
      ['127.0.0.21:9000', '127.0.0.23:9000'],
    ],
    ['duplicates once', A, { addresses: ['10.0.0.1', '10.0.0.1'] }, ['10.0.0.1:9000']],
    ['AAAA in brackets', A, { addresses: ['fd00::1'] }, ['[fd00::1]:9000']],
    ['garbage entries dropped', A, { addresses: ['10.0.0.1', 'not-an-ip', 42, null, ''] }, ['10.0.0.1:9000']],
    ['empty answer: change nothing', A, { addresses: [] }, undefined],
    ['only garbage: change nothing', A, { addresses: ['x', {}] }, undefined],
    ['an SRV answer for an A target: change nothing', A, { srv: [{ name: 'a', port: 1 }] }, undefined],
    [
      'SRV targets with their own ports, trailing dot dropped, lower-cased',
      SRV,
      {
        srv: [
          {
            name: 'Tally-Node-1.tally-nodes.default.svc.cluster.local.',
            port: 9000,
            priority: 0,
            weight: 50,
          },
          { name: 'tally-node-0.tally-nodes.default.svc.cluster.local', port: 9000, priority: 0, weight: 50 },
        ],
      },
      [
        'tally-node-0.tally-nodes.default.svc.cluster.local:9000',
        'tally-node-1.tally-nodes.default.svc.cluster.local:9000',
      ],
    ],
    ['SRV with an IP target', SRV, { srv: [{ name: '127.0.0.22', port: 9100 }] }, ['127.0.0.22:9100']],
    [
      'SRV records with port 0, bad names or wrong types dropped',
      SRV,
      {
        srv: [
          { name: 'ok', port: 1 },
          { name: 'zero', port: 0 },
          { name: 'big', port: 70000 },
          { name: 'bad name', port: 1 },
          { name: 5, port: 1 },
          { name: 'frac', port: 1.5 },
          null,
          'x',
        ],
      },
      ['ok:1'],
    ],
    ['SRV empty: change nothing', SRV, { srv: [] }, undefined],
    ['addresses for an SRV target: change nothing', SRV, { addresses: ['10.0.0.1'] }, undefined],
  ])('%s', (_what, target, answer, want) => {
    expect(endpointsOf(target, answer)).toEqual(want)
  })

  it('joins IPv6 hosts in brackets only', () => {
    expect(joinHostPort('::1', 1)).toBe('[::1]:1')
    expect(joinHostPort('10.0.0.1', 1)).toBe('10.0.0.1:1')
    expect(joinHostPort('node-1.svc', 1)).toBe('node-1.svc:1')
  })
})

describe('diffEndpoints', () => {
  it.each([
    [[], ['a:1', 'b:1'], { added: ['a:1', 'b:1'], removed: [] }],
    [['a:1', 'b:1'], ['a:1', 'b:1'], { added: [], removed: [] }],
    [['a:1', 'b:1'], ['b:1', 'c:1'], { added: ['c:1'], removed: ['a:1'] }],
    [['a:1'], [], { added: [], removed: ['a:1'] }],
    [['c:1', 'a:1'], ['b:1'], { added: ['b:1'], removed: ['a:1', 'c:1'] }],
  ])('%j → %j', (prev, next, want) => {
    expect(diffEndpoints(prev, next)).toEqual(want)
  })
})
