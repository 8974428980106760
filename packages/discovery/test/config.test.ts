import { describe, expect, it } from 'vitest'
import { ConfigError, helpText, parseConfig, SETTINGS } from '../src/config.js'

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    expect(parseConfig([], {})).toEqual({
      host: '127.0.0.1',
      port: 8000,
      ttlMs: 3000,
      maxPeers: 10000,
      logLevel: 'info',
      help: false,
    })
  })

  it('reads env, and flags win over env', () => {
    const env = { TALLY_PORT: '9999', TALLY_TTL: '500', TALLY_TOKEN: 'secret-token' }
    expect(parseConfig([], env)).toMatchObject({ port: 9999, ttlMs: 500, token: 'secret-token' })
    expect(parseConfig(['--port', '1234', '--ttl=700'], env)).toMatchObject({ port: 1234, ttlMs: 700 })
  })

  it.each([
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--ttl', '0'], '--ttl'],
    [['--ttl', '-5'], '--ttl'],
    [['--log-level', 'loud'], '--log-level'],
    [['--token', 'short'], '--token'],
    [['--bogus', '1'], '--bogus'],
    [['--port'], '--port'],
    [['stray'], 'stray'],
  ])('refuses %j naming the setting', (argv, name) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError)
    expect(() => parseConfig(argv, {})).toThrow(name)
  })

  it('names the env var when the bad value came from env', () => {
    expect(() => parseConfig([], { TALLY_TTL: '1.5' })).toThrow('TALLY_TTL')
  })

  it('every setting follows the flag/env naming contract and appears in --help', () => {
    const help = helpText()
    for (const s of SETTINGS) {
      expect(s.env).toBe(`TALLY_${s.flag.toUpperCase().replaceAll('-', '_')}`)
      expect(help).toContain(`--${s.flag}`)
      expect(help).toContain(s.env)
      if (s.default !== undefined) expect(help).toContain(`(default: ${s.default})`)
    }
    expect(parseConfig(['--help'], {}).help).toBe(true)
  })
})
