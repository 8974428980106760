import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  bool,
  type CliIo,
  ConfigError,
  defineSettings,
  envName,
  helpText,
  host,
  hostPortList,
  int,
  isHostPort,
  matching,
  nonEmpty,
  oneOf,
  orKeyword,
  parseSettings,
  readConfigOrExit,
  respBindPort,
  respPort,
  settingList,
  text,
  toOrigin,
  urlList,
  wantsHelp,
} from '../src/index.js'

const SCHEMA = defineSettings({
  name: {
    flag: 'name',
    description: 'a name',
    parse: matching(/^[a-z]{1,8}$/, '1-8 of a-z'),
    required: true,
  },
  host: { flag: 'host', description: 'bind address', parse: host(), default: '127.0.0.1' },
  port: { flag: 'port', description: 'port', parse: int(0, 65535), default: '8000' },
  mode: { flag: 'mode', description: 'mode', parse: oneOf(['fast', 'safe']), default: 'safe' },
  eager: { flag: 'eager', description: 'eager', parse: bool(), default: 'true' },
  key: { flag: 'key', description: 'secret', parse: text({ minLength: 8 }) },
  token: { flag: 'token', description: 'token', parse: text() },
  dir: { flag: 'data-dir', description: 'dir', parse: nonEmpty(), shownDefault: 'data/<name>' },
  peers: { flag: 'peers', description: 'seeds', parse: hostPortList(), default: '' },
  nodes: { flag: 'nodes', description: 'nodes', parse: urlList({ origins: true }) },
  disc: { flag: 'discovery', description: 'urls', parse: orKeyword('multicast', urlList()) },
})

const parse = (argv: string[], env: Record<string, string> = {}) => parseSettings(SCHEMA, argv, env)

function refusal(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parse(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('parseSettings', () => {
  it('applies defaults (through the parser) and leaves the rest undefined', () => {
    expect(parse(['--name', 'a'])).toEqual({
      name: 'a',
      host: '127.0.0.1',
      port: 8000,
      mode: 'safe',
      eager: true,
      key: undefined,
      token: undefined,
      dir: undefined,
      peers: [],
      nodes: undefined,
      disc: undefined,
    })
  })

  it('types each value by its parser; defaulted and required ones are never undefined', () => {
    const v = parse(['--name', 'a'])
    expectTypeOf(v.port).toEqualTypeOf<number>()
    expectTypeOf(v.mode).toEqualTypeOf<'fast' | 'safe'>()
    expectTypeOf(v.name).toEqualTypeOf<string>()
    expectTypeOf(v.nodes).toEqualTypeOf<string[] | undefined>()
    expectTypeOf(v.disc).toEqualTypeOf<string[] | 'multicast' | undefined>()
  })

  it.each([
    ['--flag value', ['--name', 'a', '--port', '1'], {}, 1],
    ['--flag=value', ['--name=a', '--port=2'], {}, 2],
    ['env', ['--name', 'a'], { TALLY_PORT: '3' }, 3],
    ['flag over env', ['--name', 'a', '--port', '4'], { TALLY_PORT: '3' }, 4],
    ['empty env is unset', ['--name', 'a'], { TALLY_PORT: '' }, 8000],
    ['--help is skipped', ['--help', '--name', 'a', '-h'], {}, 8000],
  ])('reads %s', (_what, argv, env, port) => {
    expect(parse(argv, env).port).toBe(port)
  })

  it.each([
    [[], {}, 'name', 'invalid setting --name: required (or set TALLY_NAME)'],
    [['--name', 'A'], {}, 'name', 'invalid setting --name: must be 1-8 of a-z, got "A"'],
    [['--name', 'a', '--port', 'x'], {}, 'port', 'invalid setting --port: expected an integer, got "x"'],
    [['--name', 'a', '--port', '-1'], {}, 'port', 'expected an integer, got "-1"'],
    [['--name', 'a', '--port', '70000'], {}, 'port', 'must be between 0 and 65535, got 70000'],
    [['--name', 'a'], { TALLY_PORT: '1.5' }, 'port', 'expected an integer, got "1.5" (from TALLY_PORT)'],
    [['--name', 'a', '--mode', 'slow'], {}, 'mode', 'must be one of fast|safe, got "slow"'],
    [['--name', 'a', '--eager', 'yes'], {}, 'eager', 'must be true|false, got "yes"'],
    [['--name', 'a', '--host', ''], {}, 'host', 'invalid setting --host: must not be empty'],
    [['--name', 'a', '--key', 'short'], {}, 'key', 'must be at least 8 characters'],
    [['--name', 'a', '--data-dir', ''], {}, 'data-dir', 'must not be empty'],
    [['--name', 'a', '--peers', 'a:1,nohost'], {}, 'peers', 'expected host:port, got "nohost"'],
    [['--name', 'a', '--peers', 'a:0'], {}, 'peers', 'expected host:port, got "a:0"'],
    [['--name', 'a', '--nodes', 'ftp://a:1'], {}, 'nodes', 'expected http(s)://host:port[,...]'],
    [['--name', 'a', '--nodes', 'http://u:p@h:1'], {}, 'nodes', 'expected http(s)://host:port[,...]'],
    [['--name', 'a', '--discovery', 'ftp://x'], {}, 'discovery', 'or multicast'],
    [['--name', 'a', '--bogus', '1'], {}, 'bogus', 'invalid setting --bogus: unknown flag (see --help)'],
    [['--name', 'a', '--port'], {}, 'port', 'invalid setting --port: missing value'],
    [['--name', '--port', '1'], {}, 'name', 'missing value'],
    [['stray'], {}, 'stray', 'invalid setting --stray: unexpected argument'],
  ])('%j %j is refused naming --%s', (argv, env, setting, message) => {
    const err = refusal(argv, env)
    expect(err.setting).toBe(setting)
    expect(err.code).toBe('TALLY_CONFIG_INVALID')
    expect(err.message).toContain(message)
  })

  it('parses lists', () => {
    const v = parse([
      '--name',
      'a',
      '--peers',
      ' a:1, ,[::1]:2 ',
      '--nodes',
      'http://a:1/x, http://a:1 ,https://b',
      '--discovery',
      'http://d:8000/path',
    ])
    expect(v.peers).toEqual(['a:1', '[::1]:2'])
    expect(v.nodes).toEqual(['http://a:1', 'https://b'])
    expect(v.disc).toEqual(['http://d:8000/path'])
    expect(parse(['--name', 'a', '--discovery', 'multicast']).disc).toBe('multicast')
    expect(parse(['--name', 'a', '--nodes', ' ']).nodes).toEqual([])
  })

  it('text: empty is unset, below the minimum is refused', () => {
    expect(parse(['--name', 'a', '--token', '']).token).toBeUndefined()
    expect(parse(['--name', 'a', '--key', '12345678']).key).toBe('12345678')
    expect(refusal(['--name', 'a', '--key', '']).setting).toBe('key')
  })
})

describe('parsers', () => {
  it.each([
    ['a:1', true],
    ['[::1]:9000', true],
    ['a:65536', false],
    ['a', false],
    ['a b:1', false],
  ])('isHostPort(%j) is %s', (raw, ok) => {
    expect(isHostPort(raw)).toBe(ok)
  })

  it.each([
    ['http://a:1/x?y', 'http://a:1'],
    ['https://b', 'https://b'],
    ['ftp://a', undefined],
    ['http://u:p@a', undefined],
    ['nope', undefined],
  ])('toOrigin(%j) is %j', (raw, origin) => {
    expect(toOrigin(raw)).toBe(origin)
  })

  it.each([
    ['6380', 6380, 6380],
    ['0', 0, undefined],
    ['any', 'any', 0],
  ] as const)('respPort(%j) is %j and binds %j', (raw, parsed, bind) => {
    const p = respPort()(raw)
    expect(p).toBe(parsed)
    expect(respBindPort(p)).toBe(bind)
  })

  it.each(['', 'Any', '-1', '65536', '6380x'])('respPort refuses %j, naming 0 and any', (raw) => {
    expect(() => respPort()(raw)).toThrow(/port 1-65535, 0 \(off\) or any \(a free port\)/)
  })

  it('refuses a bad range or flag name as a programmer mistake', () => {
    expect(() => int(5, 1)).toThrow(RangeError)
    expect(() => defineSettings({ x: { flag: 'Bad_Flag', description: '', parse: host() } })).toThrow(
      TypeError,
    )
  })
})

describe('settingList and helpText', () => {
  it('publishes flag, env by the naming rule, description and the shown default', () => {
    const list = settingList(SCHEMA)
    expect(list.map((s) => s.flag)).toEqual(Object.values(SCHEMA).map((s) => s.flag))
    for (const s of list) expect(s.env).toBe(envName(s.flag))
    expect(list.find((s) => s.flag === 'data-dir')?.default).toBe('data/<name>')
    expect(list.find((s) => s.flag === 'key')).not.toHaveProperty('default')
    expect(envName('max-frame-bytes')).toBe('TALLY_MAX_FRAME_BYTES')
  })

  it('has one line per setting in the common format, aligned, with --help last', () => {
    const help = helpText('tally-x [options]', SCHEMA).split('\n')
    expect(help.slice(0, 3)).toEqual([
      'Usage: tally-x [options]',
      '',
      'Options (flags win over environment):',
    ])
    const rows = help.slice(3)
    expect(rows).toHaveLength(Object.keys(SCHEMA).length + 1)
    expect(rows[1]).toMatch(/^ {2}--host +TALLY_HOST +bind address \(default: 127\.0\.0\.1\)$/)
    expect(rows.find((r) => r.includes('--peers'))).toContain('(default: none)')
    expect(rows.find((r) => r.includes('--key'))).not.toContain('default')
    expect(rows.at(-1)).toMatch(/^ {2}--help +print this text and exit/)
    const envColumn = new Set(rows.slice(0, -1).map((r) => r.indexOf('TALLY_')))
    expect(envColumn.size).toBe(1)
  })
})

describe('readConfigOrExit', () => {
  class Exit extends Error {
    constructor(readonly code: number) {
      super(`exit ${code}`)
    }
  }
  function io() {
    const out = { stdout: '', stderr: '' }
    const cli: CliIo = {
      stdout: (t) => {
        out.stdout += t
      },
      stderr: (t) => {
        out.stderr += t
      },
      exit: (code) => {
        throw new Exit(code)
      },
    }
    return { out, cli }
  }
  const run = (argv: string[], cli: CliIo) =>
    readConfigOrExit(
      'tally-x',
      () => 'HELP',
      (a, e) => parseSettings(SCHEMA, a, e),
      argv,
      {},
      cli,
    )

  it.each([['--help'], ['-h']])('%s prints help and exits 0', (flag) => {
    const { out, cli } = io()
    expect(() => run(['--port', 'bad', flag], cli)).toThrow(new Exit(0))
    expect(out.stdout).toBe('HELP\n')
    expect(wantsHelp([flag])).toBe(true)
  })

  it('a bad setting prints "<bin>: invalid setting --flag: …" to stderr and exits 2', () => {
    const { out, cli } = io()
    expect(() => run(['--name', 'a', '--port', 'x'], cli)).toThrow(new Exit(2))
    expect(out.stderr).toBe('tally-x: invalid setting --port: expected an integer, got "x"\n')
  })

  it('returns the config and rethrows anything else', () => {
    const { cli } = io()
    expect(run(['--name', 'a'], cli).port).toBe(8000)
    expect(() =>
      readConfigOrExit(
        'x',
        () => '',
        () => {
          throw new TypeError('bug')
        },
        [],
        {},
        cli,
      ),
    ).toThrow(TypeError)
  })
})
