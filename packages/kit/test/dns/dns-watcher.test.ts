import { describe, expect, it } from 'vitest'
import type { DnsAnswer } from '../../src/dns/dns-answer.js'
import type { DnsTarget } from '../../src/dns/dns-target.js'
import { DnsWatcher, retryDelay, shouldWarn } from '../../src/dns/dns-watcher.js'

const TARGET: DnsTarget = { kind: 'a', name: 'nodes', port: 9000 }

/** A watcher over a scripted lookup; records changes and log lines. */
function scripted(answers: Array<DnsAnswer | Error>) {
  const changes: Array<{ endpoints: string[]; added: string[]; removed: string[] }> = []
  const logs: Array<{ level: string; msg: string | undefined }> = []
  const log = (level: string) => (_obj: object, msg?: string) => {
    logs.push({ level, msg })
  }
  let i = 0
  const watcher = new DnsWatcher({
    target: TARGET,
    intervalMs: 1000,
    lookup: async () => {
      const next = answers[i++]
      if (next === undefined) throw new Error('script exhausted')
      if (next instanceof Error) throw next
      return next
    },
    onChange: (endpoints, diff) => changes.push({ endpoints, ...diff }),
    logger: { debug: log('debug'), info: log('info'), warn: log('warn') },
  })
  return { watcher, changes, logs }
}

describe('DnsWatcher.poll', () => {
  it('reports the first answer, then only changes, and follows additions and removals', async () => {
    const { watcher, changes } = scripted([
      { addresses: ['127.0.0.21', '127.0.0.22'] },
      { addresses: ['127.0.0.22', '127.0.0.21'] },
      { addresses: ['127.0.0.21', '127.0.0.22', '127.0.0.23'] },
      { addresses: ['127.0.0.21', '127.0.0.23'] },
    ])
    expect(await watcher.poll()).toBe('changed')
    expect(await watcher.poll()).toBe('unchanged')
    expect(await watcher.poll()).toBe('changed')
    expect(await watcher.poll()).toBe('changed')
    expect(changes).toEqual([
      {
        endpoints: ['127.0.0.21:9000', '127.0.0.22:9000'],
        added: ['127.0.0.21:9000', '127.0.0.22:9000'],
        removed: [],
      },
      {
        endpoints: ['127.0.0.21:9000', '127.0.0.22:9000', '127.0.0.23:9000'],
        added: ['127.0.0.23:9000'],
        removed: [],
      },
      { endpoints: ['127.0.0.21:9000', '127.0.0.23:9000'], added: [], removed: ['127.0.0.22:9000'] },
    ])
  })

  it('keeps the last good list through failures, empty and garbage answers', async () => {
    const { watcher, changes } = scripted([
      { addresses: ['10.0.0.1'] },
      new Error('queryA ETIMEOUT nodes'),
      { addresses: [] },
      { addresses: ['garbage', 7] },
      { srv: [{ name: 'x', port: 1 }] },
    ])
    await watcher.poll()
    expect(await watcher.poll()).toBe('failed')
    expect(await watcher.poll()).toBe('empty')
    expect(await watcher.poll()).toBe('empty')
    expect(await watcher.poll()).toBe('empty')
    expect(watcher.endpoints).toEqual(['10.0.0.1:9000'])
    expect(changes).toHaveLength(1)
  })

  it('warns on the 1st, 2nd, 4th and 8th failure in a row only, and says when answers return', async () => {
    const errors = Array.from({ length: 9 }, () => new Error('SERVFAIL'))
    const { watcher, logs } = scripted([...errors, { addresses: ['10.0.0.1'] }])
    for (let k = 0; k < 9; k++) expect(await watcher.poll()).toBe('failed')
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(4)
    expect(logs.filter((l) => l.level === 'debug')).toHaveLength(5)
    expect(logs.some((l) => l.level === 'error')).toBe(false)
    await watcher.poll()
    expect(logs.some((l) => l.level === 'info' && /answers again/.test(l.msg ?? ''))).toBe(true)
  })

  it('survives an onChange that throws', async () => {
    const w = new DnsWatcher({
      target: TARGET,
      intervalMs: 10,
      lookup: async () => ({ addresses: ['10.0.0.1'] }),
      onChange: () => {
        throw new Error('boom')
      },
      logger: { debug: () => {}, info: () => {}, warn: () => {} },
    })
    await expect(w.poll()).resolves.toBe('changed')
  })

  it('refuses a non-positive interval', () => {
    expect(
      () =>
        new DnsWatcher({
          target: TARGET,
          intervalMs: 0,
          lookup: async () => ({ addresses: [] }),
          onChange: () => {},
          logger: { debug: () => {}, info: () => {}, warn: () => {} },
        }),
    ).toThrow(RangeError)
  })
})

describe('retryDelay', () => {
  it.each([
    [1, 0, 500],
    [1, 0.999999, 1000],
    [2, 0, 1000],
    [3, 0, 2000],
    [10, 0.999999, 60_000],
    [40, 0, 30_000],
  ])('failure %i, rand %f → %i ms (interval 1 s, cap 60 s)', (failures, r, want) => {
    expect(retryDelay(failures, 1000, 60_000, () => r)).toBe(want)
  })
})

describe('shouldWarn', () => {
  it('is true on powers of two only', () => {
    const warned = Array.from({ length: 20 }, (_, i) => i).filter(shouldWarn)
    expect(warned).toEqual([1, 2, 4, 8, 16])
  })
})
