// readAhead: the batches of an iterator in order, the next one asked for
// before a batch is handed out, never two reads at once, and a read still
// in flight when the caller stops is waited for (its failure swallowed).
import { describe, expect, it } from 'vitest'
import { type BatchIterator, readAhead } from '../../src/storage/read-ahead.js'

/** An iterator over `batches` whose reads resolve only when `settle()` is called; it refuses overlapping reads. */
function slowIterator(batches: number[][], failAt = -1) {
  let inFlight = 0
  let calls = 0
  const waiting: Array<() => void> = []
  const it: BatchIterator<number> = {
    nextv(size: number) {
      expect(size).toBe(2)
      if (inFlight > 0) throw new Error('two reads at once')
      inFlight++
      const i = calls++
      return new Promise((resolve, reject) => {
        waiting.push(() => {
          inFlight--
          if (i === failAt) reject(new Error(`read ${i} failed`))
          else resolve(batches[i] ?? [])
        })
      })
    },
  }
  const settle = async () => {
    while (waiting.length === 0) await new Promise((r) => setImmediate(r))
    waiting.shift()?.()
  }
  return { it, settle, calls: () => calls, inFlight: () => inFlight }
}

describe('readAhead', () => {
  it('hands out every batch in order, having asked for the next one first', async () => {
    const src = slowIterator([[1, 2], [3, 4], [5]])
    const gen = readAhead(src.it, 2)
    const got: number[][] = []
    const asked: number[] = []
    const consume = (async () => {
      for await (const rows of gen) {
        got.push(rows)
        // While the caller works on batch k, batch k + 1 is already being read.
        asked.push(src.calls())
      }
    })()
    for (let i = 0; i < 4; i++) await src.settle()
    await consume
    expect(got).toEqual([[1, 2], [3, 4], [5]])
    expect(asked).toEqual([2, 3, 4])
    expect(src.inFlight()).toBe(0)
  })

  it('a caller that stops early returns only once the read in flight settled, even a failing one', async () => {
    const src = slowIterator(
      [
        [1, 2],
        [3, 4],
      ],
      1,
    )
    const gen = readAhead(src.it, 2)
    const first = gen.next()
    await src.settle()
    expect((await first).value).toEqual([1, 2])
    expect(src.inFlight()).toBe(1)
    let returned = false
    const stop = gen.return(undefined).then(() => {
      returned = true
    })
    await new Promise((r) => setImmediate(r))
    expect(returned).toBe(false)
    await src.settle() // read 1 rejects: nobody asked for it, so nothing is thrown
    await stop
    expect(returned).toBe(true)
    expect(src.inFlight()).toBe(0)
  })

  it('rejects as the read of a batch asked for does', async () => {
    const src = slowIterator(
      [
        [1, 2],
        [3, 4],
      ],
      1,
    )
    const gen = readAhead(src.it, 2)
    const run = (async () => {
      const out: number[][] = []
      for await (const rows of gen) out.push(rows)
      return out
    })()
    await src.settle()
    await src.settle()
    await expect(run).rejects.toThrow('read 1 failed')
    expect(src.inFlight()).toBe(0)
  })
})
