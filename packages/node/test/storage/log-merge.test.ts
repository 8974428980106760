import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyOf, type LogEntry, mergeLogs } from '../../src/storage/log-merge.js'
import { walKey } from '../../src/storage/record-codec.js'

async function* chunked(entries: LogEntry[], sizes: number[]): AsyncGenerator<LogEntry[]> {
  let i = 0
  for (let k = 0; i < entries.length; k++) {
    const n = sizes[k % Math.max(1, sizes.length)] ?? 1
    yield entries.slice(i, i + n)
    i += n
  }
}

async function all(it: AsyncIterable<LogEntry[]>): Promise<string[]> {
  const out: string[] = []
  for await (const chunk of it) out.push(...chunk.map(keyOf))
  return out
}

const entry = (seq: number): LogEntry => [walKey(seq), new Uint8Array([seq & 0xff])]
// A segment record: its key left out, its batch number given.
const bare = (seq: number): LogEntry => [null, new Uint8Array([seq & 0xff]), seq]

describe('mergeLogs', () => {
  it('yields the keys of two ascending chunked streams in ascending order, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 80 }),
        fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
        async (seqs, side, sa, sb) => {
          const sorted = [...seqs].sort((x, y) => x - y)
          const a = sorted.filter((_, i) => side[i])
          const b = sorted.filter((_, i) => !side[i])
          const got = await all(
            mergeLogs(
              chunked(
                a.map(entry),
                sa.map((n) => n + 1),
              ),
              chunked(
                b.map(bare),
                sb.map((n) => n + 1),
              ),
            ),
          )
          expect(got).toEqual(sorted.map(walKey))
        },
      ),
    )
  })

  it('passes empty chunks and empty sources through, and releases both sources when stopped early', async () => {
    let closed = 0
    async function* src(seqs: number[]): AsyncGenerator<LogEntry[]> {
      try {
        yield []
        for (const s of seqs) yield [entry(s)]
      } finally {
        closed++
      }
    }
    expect(await all(mergeLogs(src([]), src([1, 2])))).toEqual([walKey(1), walKey(2)])
    closed = 0
    for await (const chunk of mergeLogs(src([1, 3, 5]), src([2, 4, 6]))) if (chunk.length > 0) break
    expect(closed).toBe(2)
  })
})
