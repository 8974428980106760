import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import {
  Cleanup,
  du,
  listenOnFreePort,
  portOf,
  prng,
  spawnProc,
  stopProc,
  tempDir,
  until,
  waitForLine,
} from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

describe('until', () => {
  it('resolves with the first truthy value, sync or async', async () => {
    let n = 0
    await expect(until(() => ++n >= 3 && n, { what: 'three calls', intervalMs: 1 })).resolves.toBe(3)
    await expect(until(async () => 'yes', { what: 'async' })).resolves.toBe('yes')
  })

  it('counts a throw as not yet', async () => {
    let n = 0
    const v = await until(
      () => {
        if (++n < 3) throw new Error('not ready')
        return n
      },
      { what: 'no throw', intervalMs: 1 },
    )
    expect(v).toBe(3)
  })

  it('times out with an error naming what it waited for and the last error', async () => {
    await expect(until(() => false, { what: 'the moon', timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      /timed out after 30 ms waiting for the moon/,
    )
    await expect(
      until(
        () => {
          throw new Error('boom')
        },
        { what: 'x', timeoutMs: 10, intervalMs: 5 },
      ),
    ).rejects.toThrow(/last error: boom/)
  })
})

describe('prng', () => {
  it('is mulberry32: same seed, same sequence, in [0, 1)', () => {
    const a = prng(42)
    const b = prng(42)
    const xs = Array.from({ length: 100 }, () => a())
    expect(xs).toEqual(Array.from({ length: 100 }, () => b()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    // Seeded tests elsewhere depend on this exact sequence.
    expect(prng(1)()).toBeCloseTo(0.6270739405881613, 15)
    expect(prng(2)()).not.toBe(prng(1)())
  })
})

describe('Cleanup', () => {
  it('runs every task newest first, even after a failure, and rejects with the first error', async () => {
    const c = new Cleanup()
    const order: number[] = []
    c.add(() => order.push(1))
    c.add(() => {
      throw new Error('second')
    })
    c.add(async () => order.push(3))
    expect(c.size).toBe(3)
    await expect(c.run()).rejects.toThrow('second')
    expect(order).toEqual([3, 1])
    expect(c.size).toBe(0)
    await c.run()
  })
})

describe('tempDir', () => {
  it('makes a fresh directory that cleanup removes', async () => {
    const c = new Cleanup()
    const dir = await tempDir(c)
    await writeFile(join(dir, 'f'), 'hello')
    expect(await du(dir)).toBe(5)
    await c.run()
    expect(existsSync(dir)).toBe(false)
  })
})

describe('ports', () => {
  it('listenOnFreePort binds port 0 and reports the bound port', async () => {
    const s = createServer()
    cleanup.add(() => new Promise((r) => s.close(r)))
    const port = await listenOnFreePort(s)
    expect(port).toBeGreaterThan(0)
    expect((s.address() as { port: number }).port).toBe(port)
  })

  it('portOf reads the port of an address', () => {
    expect(portOf('http://127.0.0.1:8010')).toBe(8010)
    expect(portOf('127.0.0.1:9000')).toBe(9000)
    expect(() => portOf('nowhere')).toThrow(RangeError)
  })
})

describe('spawnProc', () => {
  it('reads a log line back, and cleanup stops the process by pid', async () => {
    const c = new Cleanup()
    const dir = await tempDir(cleanup)
    const script = join(dir, 'child.mjs')
    await writeFile(
      script,
      "console.log('not json'); console.log(JSON.stringify({ msg: 'listening', port: 1234 })); setInterval(() => {}, 1000)",
    )
    const p = spawnProc(c, 'child', script, [])
    const port = await waitForLine(p, (r) => (r.msg === 'listening' ? r.port : undefined))
    expect(port).toBe(1234)
    expect(p.alive()).toBe(true)
    await c.run()
    expect(p.alive()).toBe(false)
  })

  it('waitForLine rejects with the output when the process exits first', async () => {
    const dir = await tempDir(cleanup)
    const script = join(dir, 'dies.mjs')
    await writeFile(script, "console.error('bad flag'); process.exit(2)")
    const p = spawnProc(cleanup, 'dies', script, [])
    await expect(waitForLine(p, () => true)).rejects.toThrow(/dies exited \(2\).*bad flag/s)
    expect(await stopProc(p)).toBe(2)
  })
})
