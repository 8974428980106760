// The plain-write batch encoder (plain-batch.ts) writes byte for byte what
// msgpackr writes for the same batch (record-codec.ts `encodeBatchGeneral`),
// so every reader (decodeBatch, readBatch, the one-op shortcut) reads it the
// same; a batch it does not cover goes the general way.
import type { Delta } from '@tally/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { oneOpView, readOneOpFrame } from '../../src/storage/one-op-frame.js'
import { plainBatch } from '../../src/storage/plain-batch.js'
import {
  decodeBatch,
  encodeBatch,
  encodeBatchGeneral,
  type LogOp,
  walKey,
} from '../../src/storage/record-codec.js'
import {
  encodeSegmentRecord,
  parseSegment,
  RECORD_HEADER,
  SEGMENT_MAGIC,
  segmentRecordOf,
} from '../../src/storage/segment-codec.js'

const one = (name: string, r: string, p: number, n: number, s: number): LogOp => ({
  kind: 'local',
  delta: { ranges: [[r, s - 1, s]], entries: [[name, r, p, n, s]] } as Delta,
})

// Numbers on each side of every msgpack size boundary, and past 2^32 − 1 (the general path then).
const BOUNDARIES = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff]
const count = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARIES) },
  { weight: 3, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, 1.5, -1, Number.NaN) },
)
const seqArb = count.filter((s) => s >= 1)
// Names and replica ids of every string form: fixstr (< 32), str 8 (32–255), and too long for the shortcut.
const ascii = (min: number, max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  })
const text = fc.oneof(
  { weight: 8, arbitrary: fc.oneof(ascii(1, 31), ascii(31, 33), ascii(250, 256)) },
  // What the encoder may be handed but never writes itself (the general path does, or refuses).
  { weight: 1, arbitrary: fc.constantFrom<unknown>('é-not-ascii', '', 7, null) as fc.Arbitrary<string> },
)
const plainOp = fc.tuple(text, text, count, count, seqArb).map(([name, r, p, n, s]) => one(name, r, p, n, s))
// Operations the shortcut leaves to msgpackr.
const otherOp: fc.Arbitrary<LogOp> = fc.constantFrom<LogOp>(
  { kind: 'remote', delta: { ranges: [['peer', 0, 1]], entries: [['x', 'peer', 1, 0, 1]] } as Delta },
  {
    kind: 'local',
    delta: { ranges: [['me', 0, 1]], entries: [['x', 'me', 1, 0, 1]] } as Delta,
    idem: {
      key: 'k',
      name: 'x',
      op: 'increment',
      amount: 1,
      value: 1,
      at: 1,
      replica: 'me',
      seq: 1,
      attempt: 1,
    },
  },
  // Two entries in one operation (a compensation, e.g.).
  {
    kind: 'local',
    delta: {
      ranges: [['me', 0, 2]],
      entries: [
        ['x', 'me', 1, 0, 1],
        ['y', 'me', 1, 0, 2],
      ],
    } as Delta,
  },
)

describe('plainBatch', () => {
  it('writes exactly the bytes msgpackr writes, with any headroom before them', () => {
    fc.assert(
      fc.property(
        seqArb,
        fc.array(fc.oneof({ weight: 9, arbitrary: plainOp }, { weight: 1, arbitrary: otherOp }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.nat(16),
        (seq, ops, headroom) => {
          const general = encodeBatchGeneral(seq, ops)
          const fast = plainBatch(seq, ops, headroom)
          if (fast !== null) {
            expect(Array.from(fast.subarray(0, headroom))).toEqual(new Array(headroom).fill(0))
            expect(Buffer.from(fast.subarray(headroom)).equals(Buffer.from(general))).toBe(true)
          }
          expect(Buffer.from(encodeBatch(seq, ops)).equals(Buffer.from(general))).toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('takes every batch of plain single-operation writes with ASCII strings and 32-bit numbers', () => {
    const ops = [
      one('page-views', 'node-1.1839300157521049', 7, 0, 300),
      one('x'.repeat(40), 'r', 0, 0xffffffff, 301),
    ]
    const fast = plainBatch(70_000, ops, 0)
    expect(fast).not.toBeNull()
    expect(decodeBatch(70_000, fast as Uint8Array)).toEqual({ ops })
  })

  it('leaves every other batch to msgpackr', () => {
    const plain = one('a', 'r', 1, 0, 1)
    const cases: Array<[number, LogOp[]]> = [
      [1, []],
      [2 ** 32, [plain]],
      [1, [plain, one('a', 'r', 2 ** 32, 0, 2)]],
      [1, [one('é', 'r', 1, 0, 1)]],
      [1, [one('a'.repeat(256), 'r', 1, 0, 1)]],
      [1, [plain, { kind: 'remote', delta: plain.kind === 'local' ? plain.delta : ({} as Delta) }]],
      [1, [{ kind: 'marks', marks: { tuples: [], applied: [], keys: [] }, local: true }]],
    ]
    for (const [seq, ops] of cases) expect(plainBatch(seq, ops, 0)).toBeNull()
  })

  it('is read back by the one-operation shortcut as the general encoding is', () => {
    fc.assert(
      fc.property(
        seqArb.filter((s) => s < 2 ** 32),
        plainOp,
        (seq, op) => {
          const fast = plainBatch(seq, [op], 0)
          if (fast === null) return
          const a = oneOpView()
          const b = oneOpView()
          const took = readOneOpFrame(seq, fast, a)
          expect(took).toBe(readOneOpFrame(seq, encodeBatchGeneral(seq, [op]), b))
          if (took) expect({ ...a, bytes: null }).toEqual({ ...b, bytes: null })
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('segmentRecordOf', () => {
  it('is the segment record of the general encoding, which parseSegment reads back', () => {
    fc.assert(
      fc.property(
        seqArb,
        fc.array(fc.oneof({ weight: 9, arbitrary: plainOp }, { weight: 1, arbitrary: otherOp }), {
          minLength: 1,
          maxLength: 8,
        }),
        (seq, ops) => {
          const record = segmentRecordOf(seq, ops)
          const want = encodeSegmentRecord(seq, encodeBatchGeneral(seq, ops))
          expect(Buffer.from(record).equals(Buffer.from(want))).toBe(true)
          if (!Number.isSafeInteger(seq)) return
          const file = new Uint8Array(SEGMENT_MAGIC.length + record.length)
          file.set(SEGMENT_MAGIC)
          file.set(record, SEGMENT_MAGIC.length)
          const parsed = parseSegment(file, seq)
          expect(parsed.torn).toBeNull()
          expect(parsed.entries.map((e) => e.key)).toEqual([walKey(seq)])
          expect(decodeBatch(seq, parsed.entries[0]?.frame)).toEqual({ ops })
          expect(record.length - RECORD_HEADER).toBe(want.length - RECORD_HEADER)
        },
      ),
      { numRuns: 500 },
    )
  })
})
