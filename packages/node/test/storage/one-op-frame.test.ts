import type { Delta } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32 } from '../../src/storage/crc32.js'
import type { LogEntry } from '../../src/storage/log-merge.js'
import { oneOpApplier, oneOpView, readOneOpFrame } from '../../src/storage/one-op-frame.js'
import { encodeBatch, type LogOp, type ReadOp, walKey, walSeqOf } from '../../src/storage/record-codec.js'
import { StateFold } from '../../src/storage/recovery-fold.js'
import { type ApplyFrame, scanWal } from '../../src/storage/wal-scan.js'

const one = (name: unknown, r: unknown, p: unknown, n: unknown, s: unknown): Delta =>
  ({ ranges: [[r, (s as number) - 1, s]], entries: [[name, r, p, n, s]] }) as unknown as Delta

// Recovery's general path for delta operations (as LevelStore applies them; no reset marks here).
function general(fold: StateFold) {
  return (ops: ReadOp[]): string | null => {
    for (const op of ops) {
      if (op.kind === 'marks') continue
      const why = op.kind === 'one' ? fold.applyOne(op.name, op.r, op.p, op.n, op.s) : fold.apply(op.delta)
      if (why) return `invalid delta: ${why}`
    }
    return null
  }
}

async function* from(rows: LogEntry[]) {
  yield rows
}

/** `rows` as segment entries: the odd ones `[null, frame, seq]`, the even ones `[null, all, seq, start, end]`. */
function inPlace(rows: Array<[string, Uint8Array]>): LogEntry[] {
  const JUNK = [0xcb, 0x00, 0xff]
  const all = new Uint8Array(rows.reduce((n, [, f]) => n + f.length + JUNK.length, JUNK.length))
  all.set(JUNK, 0)
  let at = JUNK.length
  return rows.map(([k, f], i) => {
    const start = at
    all.set(f, at)
    all.set(JUNK, at + f.length)
    at += f.length + JUNK.length
    const seq = walSeqOf(k) as number
    return i % 2 === 0 ? [null, all, seq, start, start + f.length] : [null, f, seq]
  })
}

async function scanBoth(rows: Array<[string, Uint8Array]>, policy: 'refuse' | 'truncate') {
  const run = async (quick: boolean) => {
    const fold = new StateFold(null)
    let taken = 0
    const fast = oneOpApplier(fold)
    const counted: ApplyFrame = (seq, bytes, start, end) => {
      const r = fast(seq, bytes, start, end)
      if (r !== undefined) taken++
      return r
    }
    try {
      // The shortcut's run also gets the records as segment files hand them over: key left out,
      // batch number given, and every other frame left in place in one buffer of all of them,
      // between bytes that are not part of any frame.
      const entries: LogEntry[] = quick ? inPlace(rows) : rows
      const res = await scanWal(from(entries), 0, general(fold), policy, quick ? counted : undefined)
      return { res, state: fold.state(), taken }
    } catch (err) {
      return { err: (err as Error).message, state: fold.state(), taken }
    }
  }
  const [slow, fast] = [await run(false), await run(true)]
  return { slow, fast }
}

const LONG = 'x'.repeat(128)
// Mostly valid values (so that scans go on past the first record), and each kind of invalid one.
const mostly = (valid: unknown[], invalid: unknown[]) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  )
const name = mostly(['a', 'b', 'user:42', LONG], [`${LONG}y`, 'bad name!', '__proto__', 'é', '', 7])
const replica = mostly(['r0.1', 'r1.1', 'ünï.1'], ['', 'r'.repeat(300), 3])
const count = mostly(
  [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1],
  [2 ** 53, 1.5, -1, -200],
)
const seqField = mostly([1, 2, 300, 2 ** 40], [0, 1.5, -1])

/** One record's operations: a single compact write (mostly), a keyed one, two writes, or a remote delta. */
const ops = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(name, replica, count, count, seqField)
      .map(([a, r, p, n, s]) => [{ kind: 'local', delta: one(a, r, p, n, s) }] as LogOp[]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(name, seqField).map(
      ([a, s]) =>
        [
          {
            kind: 'local',
            delta: one(a, 'r0.1', 1, 0, s),
            idem: { key: 'k', name: String(a), op: 'increment', amount: 1, value: 1, at: 1 },
          },
        ] as LogOp[],
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(name, name).map(
      ([a, b]) =>
        [
          { kind: 'local', delta: one(a, 'r0.1', 1, 0, 1) },
          { kind: 'local', delta: one(b, 'r0.1', 2, 0, 2) },
        ] as LogOp[],
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(name, count)
      .map(([a, p]) => [{ kind: 'remote', delta: one(a, 'r2.1', p, 0, 1) }] as LogOp[]),
  },
)

/** How a record is damaged: not at all, a byte flipped (checksum then wrong, or recomputed), a byte added, or cut short. */
const damage = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('flip', 'flip+crc', 'append+crc'),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut'), at: fc.nat(), bit: fc.constant(0) }) },
)

function damaged(frame: Uint8Array, d: { kind: string; at: number; bit: number } | null): Uint8Array {
  if (!d) return frame
  const out = frame.slice()
  if (d.kind === 'cut') return out.subarray(0, d.at % out.length)
  if (d.kind === 'append+crc') {
    const longer = new Uint8Array(out.length + 1)
    longer.set(out)
    longer[out.length] = d.at & 0xff
    new DataView(longer.buffer).setUint32(0, crc32(longer.subarray(4)))
    return longer
  }
  const i = 4 + (d.at % (out.length - 4))
  out[i] = (out[i] as number) ^ (1 << d.bit)
  if (d.kind === 'flip+crc') new DataView(out.buffer).setUint32(0, crc32(out.subarray(4)))
  return out
}

describe('readOneOpFrame', () => {
  it('reads the common record in place: name bytes, replica and counts', () => {
    const frame = encodeBatch(300, [{ kind: 'local', delta: one('user:42', 'r0.1', 70_000, 5, 2 ** 32 + 5) }])
    const view = oneOpView()
    expect(readOneOpFrame(300, frame, view)).toBe(true)
    expect(Buffer.from(view.bytes.subarray(view.nameAt, view.nameAt + view.nameLen)).toString()).toBe(
      'user:42',
    )
    expect(view).toMatchObject({ replica: 'r0.1', p: 70_000, n: 5, s: 2 ** 32 + 5 })
    // Another batch number, a keyed write, two operations: the general path's.
    expect(readOneOpFrame(301, frame, view)).toBe(false)
    const keyed = encodeBatch(1, [
      {
        kind: 'local',
        delta: one('a', 'r0.1', 1, 0, 1),
        idem: { key: 'k', name: 'a', op: 'increment', amount: 1, value: 1, at: 1 },
      },
    ])
    expect(readOneOpFrame(1, keyed, view)).toBe(false)
  })

  it('reads a frame where it lies in a larger buffer, and only within its bounds', () => {
    const frame = encodeBatch(7, [{ kind: 'local', delta: one('user:42', 'r0.1', 3, 1, 9) }])
    const all = new Uint8Array(frame.length + 10).fill(0xcc)
    all.set(frame, 5)
    const view = oneOpView()
    expect(readOneOpFrame(7, all, view, 5, 5 + frame.length)).toBe(true)
    expect(view.bytes).toBe(all)
    expect(Buffer.from(all.subarray(view.nameAt, view.nameAt + view.nameLen)).toString()).toBe('user:42')
    expect(view).toMatchObject({ replica: 'r0.1', p: 3, n: 1, s: 9 })
    // A byte short or a byte over (the buffer's next byte) is not that frame.
    expect(readOneOpFrame(7, all, view, 5, 4 + frame.length)).toBe(false)
    expect(readOneOpFrame(7, all, view, 5, 6 + frame.length)).toBe(false)
    expect(readOneOpFrame(7, all, view, 4, 5 + frame.length)).toBe(false)
    // Bounds outside the buffer.
    expect(readOneOpFrame(7, all, view, -1, 5 + frame.length)).toBe(false)
    expect(readOneOpFrame(7, all, view, 5, all.length + 1)).toBe(false)
  })

  it('scanning with the shortcut gives what the general path gives: state, result, refusal, for damaged records too', async () => {
    let taken = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(ops, damage), { minLength: 1, maxLength: 12 }),
        fc.constantFrom<'refuse' | 'truncate'>('refuse', 'truncate'),
        async (records, policy) => {
          const rows = records.map(([o, d], i): [string, Uint8Array] => [
            walKey(i + 1),
            damaged(encodeBatch(i + 1, o), d),
          ])
          const { slow, fast } = await scanBoth(rows, policy)
          taken += fast.taken
          expect(slow.taken).toBe(0)
          expect({ ...fast, taken: 0 }).toEqual(slow)
        },
      ),
      { numRuns: 300 },
    )
    // Not vacuous: most intact single writes went the short way.
    expect(taken).toBeGreaterThan(100)
  })
})
