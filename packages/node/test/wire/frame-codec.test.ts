import fc from 'fast-check'
import { encode as rawPack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder, FrameError, TAG_BYTES } from '../../src/wire/frame-codec.js'

const KEY = Buffer.from('correct horse battery')

function fault(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    if (e instanceof FrameError) return e.fault
    throw e
  }
  return undefined
}

function rawFrame(payload: Buffer, version = 1): Buffer {
  const out = Buffer.alloc(5 + payload.length)
  out.writeUInt32BE(1 + payload.length, 0)
  out[4] = version
  payload.copy(out, 5)
  return out
}

const value = fc.jsonValue({ maxDepth: 4 }).filter((v) => JSON.stringify(v).indexOf('__proto__') === -1)

describe('frame codec', () => {
  it('round-trips any JSON-like value across arbitrary chunk boundaries, with and without a key', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.array(fc.nat(50)),
        (vals, keyed, cuts) => {
          const key = keyed ? KEY : undefined
          const bytes = Buffer.concat(vals.map((v) => encodeFrame(v, key)))
          const dec = new FrameDecoder(1 << 20, key)
          const out: unknown[] = []
          let pos = 0
          for (const c of cuts) {
            const end = Math.min(bytes.length, pos + c)
            out.push(...dec.push(bytes.subarray(pos, end)))
            pos = end
          }
          out.push(...dec.push(bytes.subarray(pos)))
          // Normalise null-prototype objects and -0 for comparison.
          expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse(JSON.stringify(vals)))
          expect(dec.pending).toBe(0)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses an oversize length from the header alone, before the body arrives', () => {
    const header = Buffer.alloc(4)
    header.writeUInt32BE(0xffffffff, 0)
    expect(fault(() => new FrameDecoder(1024).push(header))).toBe('oversize')
  })

  it('refuses wrong version, short frames, bad msgpack, forbidden keys and deep nesting', () => {
    expect(fault(() => new FrameDecoder(1024).push(rawFrame(rawPack({ t: 1 }), 9)))).toBe('version')
    expect(fault(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0, 0])))).toBe('short')
    expect(fault(() => new FrameDecoder(1024).push(rawFrame(Buffer.from([0x92, 0x01]))))).toBe('msgpack')
    expect(fault(() => new FrameDecoder(1024).push(rawFrame(Buffer.from([0xc1]))))).toMatch(/type|msgpack/)
    // map {"__proto__": 1} written by hand (fixmap 1, fixstr 9, int 1)
    const proto = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x01])])
    expect(fault(() => new FrameDecoder(1024).push(rawFrame(proto)))).toBe('key')
    const deep = Buffer.concat([Buffer.alloc(40, 0x91), Buffer.from([0x01])]) // 40 nested 1-arrays
    expect(fault(() => new FrameDecoder(1024).push(rawFrame(deep)))).toBe('depth')
    const veryDeep = Buffer.concat([Buffer.alloc(500_000, 0x91), Buffer.from([0x01])])
    expect(fault(() => new FrameDecoder(1 << 20).push(rawFrame(veryDeep)))).toMatch(/depth|msgpack/)
    // Headers claiming 4 billion elements/bytes in a tiny frame: refused, nothing huge allocated.
    for (const tag of [0xdd, 0xdf, 0xdb, 0xc6]) {
      const lie = rawFrame(Buffer.from([tag, 0xff, 0xff, 0xff, 0xff, 0x01]))
      expect(fault(() => new FrameDecoder(1024).push(lie))).toBe('msgpack')
    }
    const ext = rawFrame(Buffer.from([0xd6, 0xff, 0, 0, 0, 1])) // timestamp extension
    expect(fault(() => new FrameDecoder(1024).push(ext))).toBe('type')
  })

  it('with a key, refuses untagged, wrongly tagged and tampered frames', () => {
    const dec = () => new FrameDecoder(1024, KEY)
    expect(fault(() => dec().push(encodeFrame({ t: 1 })))).toMatch(/auth|short/)
    expect(fault(() => dec().push(encodeFrame({ t: 1, pad: 'x'.repeat(40) })))).toBe('auth')
    expect(fault(() => dec().push(encodeFrame({ t: 1 }, Buffer.from('another key entirely'))))).toBe('auth')
    const good = encodeFrame({ t: 1, v: 5 }, KEY)
    const tampered = Buffer.from(good)
    tampered[6] = (tampered[6] as number) ^ 1
    expect(fault(() => dec().push(tampered))).toBe('auth')
    expect(dec().push(good)).toHaveLength(1)
    expect(good.length).toBe(encodeFrame({ t: 1, v: 5 }).length + TAG_BYTES)
  })

  it('a replayed authenticated frame decodes again (replays are harmless: merges are idempotent)', () => {
    const f = encodeFrame({ t: 6, f: 'a' }, KEY)
    const dec = new FrameDecoder(1024, KEY)
    expect(dec.push(Buffer.concat([f, f]))).toHaveLength(2)
  })
})
