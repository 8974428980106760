import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { logListening } from '../src/index.js'

/** A real pino logger at `level` whose output lines are collected. */
function logger(level: string): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  return { log: pino({ level }, sink), lines }
}

describe('logListening', () => {
  it.each(['debug', 'info', 'warn', 'error'])('writes the listening line at log level %s', (level) => {
    const { log, lines } = logger(level)
    log.info('an ordinary info line')
    logListening(log, { address: 'http://127.0.0.1:4242' }, 'listening')
    const listening = lines.filter((l) => l.msg === 'listening')
    expect(listening).toMatchObject([{ level: 30, address: 'http://127.0.0.1:4242' }])
    // Only that line bypasses the level.
    expect(lines.some((l) => l.msg === 'an ordinary info line')).toBe(level === 'debug' || level === 'info')
  })

  it('writes nothing when the logger is silent', () => {
    const { log, lines } = logger('silent')
    logListening(log, { address: 'http://127.0.0.1:4242' }, 'listening')
    expect(lines).toEqual([])
  })
})
