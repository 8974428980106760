import { describe, expect, it } from 'vitest'
import {
  DNS_SETTING_INVALID,
  DnsSettingError,
  isDnsDiscovery,
  parseDnsServer,
  parseDnsTarget,
} from '../../src/dns/dns-target.js'

describe('parseDnsTarget', () => {
  it.each([
    ['dns:tally-nodes:9000', { kind: 'a', name: 'tally-nodes', port: 9000 }],
    [
      'dns:tally-nodes.default.svc.cluster.local:8010',
      { kind: 'a', name: 'tally-nodes.default.svc.cluster.local', port: 8010 },
    ],
    ['dns:nodes.test.:1', { kind: 'a', name: 'nodes.test.', port: 1 }],
    ['dns:x:65535', { kind: 'a', name: 'x', port: 65535 }],
    [
      'dns+srv:_gossip._tcp.tally-nodes.default.svc.cluster.local',
      { kind: 'srv', name: '_gossip._tcp.tally-nodes.default.svc.cluster.local' },
    ],
    ['dns+srv:_http._tcp.nodes', { kind: 'srv', name: '_http._tcp.nodes' }],
  ])('%s', (raw, want) => {
    expect(parseDnsTarget(raw)).toEqual(want)
  })

  it.each([
    'dns:',
    'dns:nodes',
    'dns:nodes:',
    'dns:nodes:0',
    'dns:nodes:65536',
    'dns:nodes:90a',
    'dns::9000',
    'dns:-bad-:9000',
    'dns:a..b:9000',
    'dns:a b:9000',
    `dns:${'a'.repeat(64)}:9000`,
    'dns+srv:',
    'dns+srv:nodes',
    'dns+srv:_gossip.nodes',
    'dns+srv:gossip._tcp.nodes',
    'dns+srv:_gossip._tcp.nodes:9000',
    'dnssrv:_a._b.c',
    'http://x:1',
  ])('refuses %s with a DnsSettingError', (raw) => {
    let caught: unknown
    try {
      parseDnsTarget(raw)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(DnsSettingError)
    expect((caught as DnsSettingError).code).toBe(DNS_SETTING_INVALID)
    expect((caught as Error).message).toContain(JSON.stringify(raw).slice(0, 10))
  })

  it('tells DNS discovery values from others', () => {
    expect(isDnsDiscovery('dns:x:1')).toBe(true)
    expect(isDnsDiscovery('dns+srv:_a._b.c')).toBe(true)
    expect(isDnsDiscovery('http://dns:8000')).toBe(false)
    expect(isDnsDiscovery('multicast')).toBe(false)
  })
})

describe('parseDnsServer', () => {
  it.each([
    ['127.0.0.1:5353', '127.0.0.1:5353'],
    ['10.96.0.10', '10.96.0.10:53'],
    ['[::1]:5353', '[::1]:5353'],
    ['[fd00::a]', '[fd00::a]:53'],
  ])('%s → %s', (raw, want) => {
    expect(parseDnsServer(raw)).toBe(want)
  })

  it.each(['', 'localhost:53', 'kube-dns', '1.2.3:53', '127.0.0.1:0', '127.0.0.1:70000', '[zz]:53', '::1'])(
    'refuses %j',
    (raw) => {
      expect(() => parseDnsServer(raw)).toThrow(DnsSettingError)
    },
  )
})
