import { describe, expect, it } from 'vitest'
import { ConfigError, helpText, parseConfig, SETTINGS } from '../src/config.js'

describe('parseConfig', () => {
  it('applies documented defaults', () => {
    const c = parseConfig(['--id', 'n1'], {})
    expect(c).toMatchObject({
      id: 'n1',
      host: '127.0.0.1',
      advertise: '127.0.0.1',
      tcpPort: 9000,
      httpPort: 8010,
      respPort: 6380,
      peers: [],
      gossipIntervalMs: 200,
      fanout: 3,
      eagerPush: true,
      dataDir: 'data/n1',
      durability: 'sync',
      heartbeatIntervalMs: 1000,
      idempotencyTtlMs: 86_400_000,
      logLevel: 'info',
      inboundBudgetBytes: 16 * 1024 * 1024,
    })
    expect(c.clusterKey).toBeUndefined()
    expect(c.respPassword).toBeUndefined()
    expect(c.discovery).toBeUndefined()
  })

  it('RESP: --resp-port (0 = off) and --resp-password / TALLY_RESP_PASSWORD', () => {
    expect(parseConfig(['--id', 'a', '--resp-port', '0'], {}).respPort).toBe(0)
    expect(parseConfig(['--id', 'a'], { TALLY_RESP_PORT: '7000', TALLY_RESP_PASSWORD: 'pw' })).toMatchObject({
      respPort: 7000,
      respPassword: 'pw',
    })
    expect(() => parseConfig(['--id', 'a', '--resp-port', 'x'], {})).toThrow(/--resp-port/)
  })

  it('reads the inbound budget and refuses one below 64 KiB', () => {
    expect(parseConfig(['--id', 'n', '--inbound-budget-bytes', '1048576'], {}).inboundBudgetBytes).toBe(
      1 << 20,
    )
    expect(() => parseConfig(['--id', 'n', '--inbound-budget-bytes', '1000'], {})).toThrow(ConfigError)
  })

  it('reads the bounded transfer timeout and refuses one outside 1 ms to 10 minutes', () => {
    expect(parseConfig(['--id', 'n'], {}).boundedTransferTimeoutMs).toBe(1000)
    expect(parseConfig(['--id', 'n', '--bounded-transfer-timeout', '250'], {}).boundedTransferTimeoutMs).toBe(
      250,
    )
    for (const bad of ['0', '600001', '1.5', '-1', 'soon']) {
      expect(() => parseConfig(['--id', 'n', '--bounded-transfer-timeout', bad], {}), bad).toThrow(
        ConfigError,
      )
    }
  })

  it('reads the catch-up slice budget and refuses one below 1000 entries', () => {
    expect(parseConfig(['--id', 'n'], {}).catchUpSliceEntries).toBe(2048)
    expect(parseConfig(['--id', 'n', '--catch-up-slice-entries', '20000'], {}).catchUpSliceEntries).toBe(
      20_000,
    )
    expect(() => parseConfig(['--id', 'n', '--catch-up-slice-entries', '999'], {})).toThrow(ConfigError)
  })

  it('reads --young-generation (a cap of 8 MiB by default, another cap, small or v8) and refuses anything else', () => {
    expect(parseConfig(['--id', 'n'], {}).youngGeneration).toBe(8)
    expect(parseConfig(['--id', 'n', '--young-generation', 'v8'], {}).youngGeneration).toBe('v8')
    expect(parseConfig(['--id', 'n', '--young-generation', 'small'], {}).youngGeneration).toBe('small')
    for (const cap of [8, 16])
      expect(parseConfig(['--id', 'n', '--young-generation', String(cap)], {}).youngGeneration).toBe(cap)
    expect(parseConfig(['--id', 'n'], { TALLY_YOUNG_GENERATION: 'v8' }).youngGeneration).toBe('v8')
    expect(parseConfig(['--id', 'n'], { TALLY_YOUNG_GENERATION: '16' }).youngGeneration).toBe(16)
    for (const bad of ['large', '1', '2', '4', '32', '08', ' 8', '8.0', '8MiB', '-8', 'SMALL', ''])
      expect(() => parseConfig(['--id', 'n', '--young-generation', bad], {}), bad).toThrow(
        /--young-generation.*must be small, v8 or a cap in MiB \(8\|16\)/,
      )
  })

  it('reads env, and flags win over env', () => {
    const env = { TALLY_ID: 'e', TALLY_HTTP_PORT: '1234', TALLY_PEERS: 'a:1,b:2', TALLY_FANOUT: '5' }
    expect(parseConfig([], env)).toMatchObject({ id: 'e', httpPort: 1234, peers: ['a:1', 'b:2'], fanout: 5 })
    expect(parseConfig(['--http-port=99', '--id', 'f'], env)).toMatchObject({ id: 'f', httpPort: 99 })
  })

  it('parses discovery and booleans', () => {
    expect(parseConfig(['--id', 'a', '--discovery', 'multicast'], {}).discovery).toBe('multicast')
    expect(parseConfig(['--id', 'a', '--discovery', 'http://h:8000,http://g:8000'], {}).discovery).toEqual([
      'http://h:8000',
      'http://g:8000',
    ])
    expect(parseConfig(['--id', 'a', '--eager-push', 'false'], {}).eagerPush).toBe(false)
  })

  it.each([
    [[], 'id'],
    [['--id', 'bad id'], 'id'],
    [['--id', 'a', '--http-port', 'abc'], 'http-port'],
    [['--id', 'a', '--tcp-port', '70000'], 'tcp-port'],
    [['--id', 'a', '--peers', 'nohostport'], 'peers'],
    [['--id', 'a', '--host', '0.0.0.0'], 'advertise'],
    [['--id', 'a', '--durability', 'maybe'], 'durability'],
    [['--id', 'a', '--log-level', 'loud'], 'log-level'],
    [['--id', 'a', '--discovery', 'ftp://x'], 'discovery'],
    [['--id', 'a', '--discovery', 'dns:nodes'], 'discovery'],
    [['--id', 'a', '--discovery', 'dns:nodes:99999'], 'discovery'],
    [['--id', 'a', '--discovery', 'dns+srv:nodes.svc'], 'discovery'],
    [['--id', 'a', '--dns-server', 'resolver.local:53'], 'dns-server'],
    [['--id', 'a', '--dns-interval', '0'], 'dns-interval'],
    [['--id', 'a', '--gossip-interval', '-5'], 'gossip-interval'],
    [['--id', 'a', '--bogus', '1'], 'bogus'],
    [['--id', 'a', '--fanout'], 'fanout'],
    [['--id', 'a', '--cluster-key', 'short'], 'cluster-key'],
  ])('%j is refused naming --%s', (argv, setting) => {
    let err: unknown
    try {
      parseConfig(argv, {})
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).setting).toBe(setting)
    expect((err as ConfigError).message).toContain(`--${setting}`)
  })

  it('parses DNS discovery with its interval and resolver', () => {
    const c = parseConfig(
      [
        '--id',
        'a',
        '--discovery',
        'dns:tally-nodes:9000',
        '--dns-interval',
        '500',
        '--dns-server',
        '[::1]:5353',
      ],
      {},
    )
    expect(c.dnsDiscovery).toEqual({ kind: 'a', name: 'tally-nodes', port: 9000 })
    expect(c.discovery).toBeUndefined()
    expect(c.dnsIntervalMs).toBe(500)
    expect(c.dnsServer).toBe('[::1]:5353')
    const d = parseConfig(['--id', 'a'], {
      TALLY_DISCOVERY: 'dns+srv:_gossip._tcp.tally-nodes.ns.svc.cluster.local',
    })
    expect(d.dnsDiscovery).toEqual({ kind: 'srv', name: '_gossip._tcp.tally-nodes.ns.svc.cluster.local' })
    expect(d.dnsIntervalMs).toBe(5000)
    expect(d.dnsServer).toBeUndefined()
  })

  it('allows 0.0.0.0 with an explicit advertise host', () => {
    expect(parseConfig(['--id', 'a', '--host', '0.0.0.0', '--advertise', 'node-a'], {}).advertise).toBe(
      'node-a',
    )
  })

  it('SETTINGS follow the env naming rule and --help lists every one', () => {
    const help = helpText()
    for (const s of SETTINGS) {
      expect(s.env).toBe(`TALLY_${s.flag.toUpperCase().replaceAll('-', '_')}`)
      expect(help).toContain(`--${s.flag}`)
      expect(help).toContain(s.env)
    }
  })
})
