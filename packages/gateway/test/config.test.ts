import { describe, expect, it } from 'vitest'
import { ConfigError, helpText, parseConfig, SETTINGS } from '../src/config.js'

const bad = (argv: string[], env: Record<string, string> = {}) => {
  try {
    parseConfig(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).setting
  }
  throw new Error('expected a ConfigError')
}

describe('config', () => {
  it('defaults', () => {
    expect(parseConfig([], {})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      respPort: 6379,
      respPassword: undefined,
      discovery: [],
      dnsDiscovery: undefined,
      dnsIntervalMs: 5000,
      dnsServer: undefined,
      nodes: [],
      strategy: 'round-robin',
      requestTimeoutMs: 2000,
      healthIntervalMs: 1000,
      discoveryIntervalMs: 2000,
      maxAttempts: 3,
      deadlineMs: 5000,
      quorumTimeoutMs: 2000,
      discoveryToken: undefined,
      forgetAfterMs: 3_600_000,
      logLevel: 'info',
    })
  })

  it('RESP: --resp-port (0 = off) and --resp-password / TALLY_RESP_PASSWORD', () => {
    expect(parseConfig(['--resp-port', '0'], {}).respPort).toBe(0)
    expect(parseConfig([], { TALLY_RESP_PORT: '7000', TALLY_RESP_PASSWORD: 'pw' })).toMatchObject({
      respPort: 7000,
      respPassword: 'pw',
    })
    expect(parseConfig(['--resp-password', 'a'], { TALLY_RESP_PASSWORD: 'b' }).respPassword).toBe('a')
    expect(() => parseConfig(['--resp-port', '70000'], {})).toThrow(/--resp-port/)
  })

  it('reads flags (both forms) and env, flags winning', () => {
    const c = parseConfig(
      ['--port', '9999', '--strategy=least-loaded', '--nodes', 'http://a:1/, http://b:2'],
      {
        TALLY_PORT: '1',
        TALLY_DISCOVERY: 'http://d:8000',
        TALLY_DISCOVERY_TOKEN: 's3cret',
        TALLY_LOG_LEVEL: 'debug',
      },
    )
    expect(c.port).toBe(9999)
    expect(c.strategy).toBe('least-loaded')
    expect(c.nodes).toEqual(['http://a:1', 'http://b:2'])
    expect(c.discovery).toEqual(['http://d:8000'])
    expect(c.discoveryToken).toBe('s3cret')
    expect(c.logLevel).toBe('debug')
  })

  it.each([
    [['--port', '70000'], 'port'],
    [['--port', 'x'], 'port'],
    [['--strategy', 'fastest'], 'strategy'],
    [['--nodes', 'ftp://a:1'], 'nodes'],
    [['--nodes', 'not a url'], 'nodes'],
    [['--discovery', 'http://u:p@h:1'], 'discovery'],
    [['--request-timeout', '0'], 'request-timeout'],
    [['--request-timeout', '3000', '--deadline', '1000'], 'deadline'],
    [['--max-attempts', '0'], 'max-attempts'],
    [['--log-level', 'trace'], 'log-level'],
    [['--bogus', '1'], 'bogus'],
    [['--port'], 'port'],
    [['stray'], 'stray'],
    [['--host', ''], 'host'],
  ])('%j names %s', (argv, setting) => {
    expect(bad(argv)).toBe(setting)
  })

  it('reads DNS discovery: dns:NAME:PORT, dns+srv:, --dns-interval and --dns-server', () => {
    const a = parseConfig(
      ['--discovery', 'dns:tally-nodes:8010', '--dns-server', '127.0.0.1:5353', '--dns-interval', '250'],
      {},
    )
    expect(a.dnsDiscovery).toEqual({ kind: 'a', name: 'tally-nodes', port: 8010 })
    expect(a.discovery).toEqual([])
    expect(a.dnsServer).toBe('127.0.0.1:5353')
    expect(a.dnsIntervalMs).toBe(250)
    const srv = parseConfig([], {
      TALLY_DISCOVERY: 'dns+srv:_http._tcp.tally-nodes.default.svc.cluster.local',
    })
    expect(srv.dnsDiscovery).toEqual({
      kind: 'srv',
      name: '_http._tcp.tally-nodes.default.svc.cluster.local',
    })
    expect(parseConfig(['--discovery', 'http://d:8000'], {}).dnsDiscovery).toBeUndefined()
  })

  it.each([
    [['--discovery', 'dns:tally-nodes'], 'discovery'],
    [['--discovery', 'dns:tally-nodes:0'], 'discovery'],
    [['--discovery', 'dns+srv:tally-nodes'], 'discovery'],
    [['--dns-server', 'kube-dns'], 'dns-server'],
    [['--dns-interval', '5'], 'dns-interval'],
  ])('refuses bad DNS discovery settings %j naming --%s', (argv, setting) => {
    expect(bad(argv)).toBe(setting)
  })

  it('a bad env value is named too', () => {
    expect(bad([], { TALLY_HEALTH_INTERVAL: '-5' })).toBe('health-interval')
  })

  it('SETTINGS follow the contract and --help lists every one with its env and default', () => {
    const help = helpText()
    for (const s of SETTINGS) {
      expect(s.flag).toMatch(/^[a-z][a-z-]*$/)
      expect(s.env).toBe(`TALLY_${s.flag.toUpperCase().replaceAll('-', '_')}`)
      expect(help).toContain(`--${s.flag}`)
      expect(help).toContain(s.env)
      if (s.default !== undefined) expect(help).toContain(`(default: ${s.default})`)
    }
    const flags = SETTINGS.map((s) => s.flag)
    for (const f of [
      'host',
      'port',
      'discovery',
      'nodes',
      'strategy',
      'request-timeout',
      'health-interval',
      'discovery-token',
      'log-level',
    ]) {
      expect(flags).toContain(f)
    }
  })
})
