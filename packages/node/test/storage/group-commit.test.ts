import { until } from '@tally/kit/testing'
import { describe, expect, it } from 'vitest'
import { GroupCommit } from '../../src/storage/group-commit.js'

const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms))

describe('GroupCommit', () => {
  it('N concurrent submits need far fewer than N writes, in submission order', async () => {
    const written: number[][] = []
    const gc = new GroupCommit<number>(async (items) => {
      written.push(items)
      await tick() // an fsync takes time; submits arriving meanwhile wait for the next batch
    })
    const n = 1000
    await Promise.all(Array.from({ length: n }, (_, i) => gc.submit(i)))
    expect(written.flat()).toEqual(Array.from({ length: n }, (_, i) => i))
    expect(written.length).toBeLessThan(n / 50)
    expect(gc.stats).toEqual({ batches: written.length, items: n, queued: 0 })
  })

  it('batches that arrive while a write is in flight ride the next batch', async () => {
    const sizes: number[] = []
    const gc = new GroupCommit<number>(async (items) => {
      sizes.push(items.length)
      await tick(10)
    })
    const first = gc.submit(0)
    await until(() => sizes.length === 1, { what: 'the first write in flight', intervalMs: 1 })
    const rest = Array.from({ length: 50 }, (_, i) => gc.submit(i + 1))
    await Promise.all([first, ...rest])
    expect(sizes).toEqual([1, 50])
  })

  it('never has two writes in flight and respects maxBatch', async () => {
    let inflight = 0
    let max = 0
    const sizes: number[] = []
    const gc = new GroupCommit<number>(
      async (items) => {
        inflight++
        max = Math.max(max, inflight)
        sizes.push(items.length)
        await tick()
        inflight--
      },
      { maxBatch: 7 },
    )
    await Promise.all(Array.from({ length: 100 }, (_, i) => gc.submit(i)))
    expect(max).toBe(1)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7)
  })

  it('rejects exactly the submits of a failed batch and keeps going', async () => {
    let calls = 0
    const gc = new GroupCommit<number>(async () => {
      calls++
      if (calls === 1) throw new Error('disk full')
    })
    const a = gc.submit(1)
    const b = gc.submit(2)
    await expect(a).rejects.toThrow('disk full')
    await expect(b).rejects.toThrow('disk full')
    await expect(gc.submit(3)).resolves.toBeUndefined()
  })

  it('runs barriers after earlier submits and before later ones', async () => {
    const log: string[] = []
    const gc = new GroupCommit<string>(async (items) => {
      log.push(...items)
      await tick()
    })
    const ps = [gc.submit('a'), gc.submit('b'), gc.barrier(async () => void log.push('|')), gc.submit('c')]
    await Promise.all(ps)
    await gc.flush()
    expect(log).toEqual(['a', 'b', '|', 'c'])
    await expect(gc.barrier(async () => Promise.reject(new Error('x')))).rejects.toThrow('x')
  })

  it("gather 'turn': submits from separate callbacks of one turn ride one batch ('microtask': one each)", async () => {
    // Like one request per socket: each I/O callback of a turn submits one item from its own
    // macrotask (setImmediate callbacks queued together run in one check phase).
    const sizesOf = async (gather: 'microtask' | 'turn') => {
      const sizes: number[] = []
      const gc = new GroupCommit<number>(
        async (items) => {
          sizes.push(items.length) // returns at once, like an async-durability append
        },
        { gather },
      )
      const done = await new Promise<Array<Promise<void>>>((resolve) => {
        const ps: Array<Promise<void>> = []
        for (let i = 0; i < 5; i++)
          setImmediate(() => {
            ps.push(gc.submit(i))
            if (ps.length === 5) resolve(ps)
          })
      })
      await Promise.all(done)
      return sizes
    }
    expect(await sizesOf('microtask')).toEqual([1, 1, 1, 1, 1])
    expect(await sizesOf('turn')).toEqual([5])
  })

  it("gather 'turn' keeps submission order, barriers and maxBatch", async () => {
    const written: number[][] = []
    const log: string[] = []
    const gc = new GroupCommit<number>(
      async (items) => {
        written.push(items)
        log.push(items.join(','))
      },
      { gather: 'turn', maxBatch: 3 },
    )
    const a = Array.from({ length: 4 }, (_, i) => gc.submit(i))
    const b = gc.barrier(async () => {
      log.push('|')
    })
    const c = gc.submit(4)
    await Promise.all([...a, b, c])
    expect(written).toEqual([[0, 1, 2], [3], [4]])
    expect(log).toEqual(['0,1,2', '3', '|', '4'])
  })
})
