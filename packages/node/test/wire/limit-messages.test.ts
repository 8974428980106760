// LIMITS frames from untrusted peers: well-formed ones pass, every malformed
// shape is refused (readMessage returns null, the connection is dropped).

import { describe, expect, it } from 'vitest'
import { MAX_BUCKET_TUPLES } from '../../src/wire/limit-messages.js'
import { MsgType, readMessage } from '../../src/wire/messages.js'

const ok = { t: MsgType.LIMITS, f: 'n1', a: '127.0.0.1:9000', b: [['api', 1000, 5000, 'n1.1', 3]] }

describe('LIMITS messages', () => {
  it('accepts buckets, a digest, or an answer asking back', () => {
    expect(readMessage(ok)).toEqual(ok)
    expect(readMessage({ t: 7, f: 'n1', a: 'h:1', d: '3:0123456789abcdef' })).not.toBeNull()
    expect(readMessage({ t: 7, f: 'n1', b: [], s: 1, d: '0:0000000000000000' })).not.toBeNull()
    expect(readMessage({ ...ok, ts: 1_700_000_000_000 })).not.toBeNull()
  })

  it.each([
    ['neither buckets nor digest', { t: 7, f: 'n1' }],
    ['unknown field', { ...ok, x: 1 }],
    ['bad sender', { ...ok, f: 'bad id!' }],
    ['bad digest', { t: 7, f: 'n1', d: 'zz' }],
    ['bad s', { ...ok, s: 2 }],
    ['negative send time', { ...ok, ts: -1 }],
    ['fractional send time', { ...ok, ts: 1.5 }],
    ['b not an array', { ...ok, b: {} }],
    ['short tuple', { ...ok, b: [['api', 1000, 5000, 'n1.1']] }],
    ['bad name', { ...ok, b: [['a b', 1000, 5000, 'n1.1', 3]] }],
    ['window 0', { ...ok, b: [['api', 0, 0, 'n1.1', 3]] }],
    ['start off the grid', { ...ok, b: [['api', 1000, 5001, 'n1.1', 3]] }],
    ['negative start', { ...ok, b: [['api', 1000, -1000, 'n1.1', 3]] }],
    ['count 0', { ...ok, b: [['api', 1000, 5000, 'n1.1', 0]] }],
    ['fractional count', { ...ok, b: [['api', 1000, 5000, 'n1.1', 1.5]] }],
    ['unsafe count', { ...ok, b: [['api', 1000, 5000, 'n1.1', 2 ** 53]] }],
    ['bad replica', { ...ok, b: [['api', 1000, 5000, '', 3]] }],
    ['too many tuples', { ...ok, b: Array.from({ length: MAX_BUCKET_TUPLES + 1 }, () => ok.b[0]) }],
  ])('refuses %s', (_what, msg) => {
    expect(readMessage(msg)).toBeNull()
  })
})
