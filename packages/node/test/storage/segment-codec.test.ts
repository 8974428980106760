import { describe, expect, it } from 'vitest'
import { encodeBatch, walKey } from '../../src/storage/record-codec.js'
import {
  encodeSegmentRecord,
  parseSegment,
  RECORD_HEADER,
  SEGMENT_MAGIC,
  segmentFirstSeq,
  segmentName,
  segmentPieces,
} from '../../src/storage/segment-codec.js'

const frame = (seq: number) =>
  encodeBatch(seq, [
    { kind: 'local', delta: { ranges: [['a.1', seq - 1, seq]], entries: [['x', 'a.1', seq, 0, seq]] } },
  ])

function file(...records: Uint8Array[]): Uint8Array {
  const parts = [SEGMENT_MAGIC, ...records]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('segment codec', () => {
  it('names sort in log order and read back; other names are not segments', () => {
    expect(segmentName(1)).toBe('00000000000001.seg')
    expect(segmentFirstSeq(segmentName(0xabcdef))).toBe(0xabcdef)
    expect(segmentName(9) < segmentName(16)).toBe(true)
    for (const bad of [
      '00000000000000.seg',
      'x0000000000001.seg',
      '0000000000001.seg',
      'LOCK',
      '00000000000001.seg.tmp',
    ])
      expect(segmentFirstSeq(bad)).toBeNull()
  })

  it('round trip: keys, frames and offsets of every record; batch numbers past 2^32 too', () => {
    const big = 2 ** 40 + 5
    const bytes = file(
      encodeSegmentRecord(7, frame(7)),
      encodeSegmentRecord(8, frame(8)),
      encodeSegmentRecord(big, frame(big)),
    )
    const p = parseSegment(bytes, 7)
    expect(p.torn).toBeNull()
    expect(p.entries.map((e) => e.key)).toEqual([walKey(7), walKey(8), walKey(big)])
    expect(p.entries.map((e) => [...e.frame])).toEqual([[...frame(7)], [...frame(8)], [...frame(big)]])
    expect(p.entries[0]!.offset).toBe(SEGMENT_MAGIC.length)
    expect(p.entries[1]!.offset).toBe(SEGMENT_MAGIC.length + RECORD_HEADER + frame(7).length)
  })

  it('a file cut at any byte keeps the whole records before the cut and marks the rest torn at the next key', () => {
    const r1 = encodeSegmentRecord(3, frame(3))
    const r2 = encodeSegmentRecord(4, frame(4))
    const whole = file(r1, r2)
    const r2At = SEGMENT_MAGIC.length + r1.length
    for (let len = 0; len < whole.length; len++) {
      const p = parseSegment(whole.subarray(0, len), 3)
      if (len < SEGMENT_MAGIC.length) {
        expect(p.entries).toEqual([])
        expect(p.torn).toMatchObject({ key: walKey(3), offset: 0 })
      } else if (len === SEGMENT_MAGIC.length) {
        expect(p).toEqual({ entries: [], torn: null })
      } else if (len < r2At) {
        expect(p.entries).toEqual([])
        expect(p.torn).toMatchObject({ key: walKey(3), offset: SEGMENT_MAGIC.length })
      } else if (len === r2At) {
        expect(p.entries.map((e) => e.key)).toEqual([walKey(3)])
        expect(p.torn).toBeNull()
      } else {
        expect(p.entries.map((e) => e.key)).toEqual([walKey(3)])
        expect(p.torn).toMatchObject({ key: walKey(4), offset: r2At })
      }
    }
  })

  it('a bad magic or an impossible batch number is torn from there', () => {
    const r = encodeSegmentRecord(5, frame(5))
    const bad = file(r)
    bad[0] = 0x58
    expect(parseSegment(bad, 5)).toMatchObject({ entries: [], torn: { key: walKey(5), offset: 0 } })
    const zero = file(r)
    zero.fill(0, SEGMENT_MAGIC.length + 4, SEGMENT_MAGIC.length + RECORD_HEADER)
    expect(parseSegment(zero, 5).torn).toMatchObject({ offset: SEGMENT_MAGIC.length, reason: /batch number/ })
  })

  it('pieces of at most max records add up to parseSegment, for a file cut at any byte', () => {
    const whole = file(...[3, 4, 5, 6, 7].map((s) => encodeSegmentRecord(s, frame(s))))
    for (let len = 0; len <= whole.length; len++) {
      const bytes = whole.subarray(0, len)
      for (const max of [1, 2, 4]) {
        const pieces = [...segmentPieces(bytes, 3, max)]
        for (const p of pieces) expect(p.rows.length).toBeLessThanOrEqual(max)
        for (const p of pieces.slice(0, -1)) expect(p.torn).toBeNull()
        const whole = parseSegment(bytes, 3)
        // Each row leaves its frame in the file's bytes: the same frames, keys and offsets.
        const rows = pieces.flatMap((p) => p.rows)
        for (const row of rows) expect(row[1]).toBe(bytes)
        expect(
          rows.map(([, b, seq, start, end]) => [walKey(seq), b.subarray(start, end), start - RECORD_HEADER]),
        ).toEqual(whole.entries.map((e) => [e.key, e.frame, e.offset]))
        expect(pieces.at(-1)?.torn ?? null).toEqual(whole.torn)
      }
    }
  })
})
