// The bounded-counter gossip messages: well-formed ones pass readMessage,
// anything else is refused (null), never thrown.

import { describe, expect, it } from 'vitest'
import { BoundedMsgType, isBoundedMessage, MAX_BOUNDED_ENTRIES } from '../../src/wire/bounded-messages.js'
import { MAX_KEY_RECORDS, MsgType, readMessage } from '../../src/wire/messages.js'

const state = { p: { 'a.1': 3 }, n: {}, r: {} }
// A key record: [key, replica, seq, name, op, amount, value, at, attempt, compensated].
const rec = ['order-1', 'a.1', 1_767_000_000_000, 'stock', 1, 2, 1, 1_767_000_000_000, 1, 0]
const good = [
  { t: 20, f: 'a', b: [['stock', state]] },
  { t: 20, f: 'a', b: [], w: ['stock', 'x:y'] },
  { t: 20, f: 'a', b: [['stock', state]], k: [rec] },
  { t: 20, f: 'a', b: [], w: ['stock'], k: [] },
  { t: 21, f: 'a', a: '127.0.0.1:9000', d: '0123abcd' },
  { t: 22, f: 'a', a: '127.0.0.1:9000', s: [['stock', 'ff00']] },
  { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 5, r: 'a.1', x: 1_767_000_000_000 },
  { t: 24, f: 'b', q: 1, n: 'stock', g: 0, b: state },
  { t: 24, f: 'b', q: 1, n: 'stock', g: 2, b: state, k: [rec] },
]

describe('bounded-counter messages', () => {
  it('are part of the one MsgType table with stable numbers', () => {
    expect(MsgType.B_PUSH).toBe(20)
    expect(MsgType.B_GRANT).toBe(24)
    expect(Object.values(BoundedMsgType)).toEqual([20, 21, 22, 23, 24])
  })

  it('well-formed ones are read as they are', () => {
    for (const m of good) {
      const read = readMessage(m)
      expect(read, JSON.stringify(m)).toEqual(m)
      expect(isBoundedMessage(read!)).toBe(true)
    }
  })

  it('refuses wrong shapes', () => {
    const bad: unknown[] = [
      { t: 20, f: 'a', b: [['stock']] },
      { t: 20, f: 'a', b: [['__proto__', state]] },
      { t: 20, f: 'a', b: [['stock', 1]] },
      { t: 20, f: 'a', b: [], x: 1 },
      { t: 20, f: 'a', b: new Array(MAX_BOUNDED_ENTRIES + 1).fill(['s', state]) },
      { t: 20, f: 'a', b: [], w: ['has space'] },
      // Key records: one bad tuple refuses the whole B_PUSH, as on the plain PUSH.
      { t: 20, f: 'a', b: [], k: 'x' },
      { t: 20, f: 'a', b: [], k: [rec, rec.slice(0, 9)] },
      { t: 20, f: 'a', b: [], k: [['', ...rec.slice(1)]] },
      { t: 20, f: 'a', b: [], k: [[...rec.slice(0, 4), 2, ...rec.slice(5)]] },
      { t: 20, f: 'a', b: [], k: [[...rec.slice(0, 8), 101, 0]] },
      { t: 20, f: 'a', b: [], k: [[...rec.slice(0, 3), '__proto__', ...rec.slice(4)]] },
      { t: 20, f: 'a', b: [], k: new Array(MAX_KEY_RECORDS + 1).fill(rec) },
      { t: 21, f: 'a', a: '127.0.0.1:9000', d: 'XYZ' },
      { t: 21, f: 'a', d: 'ff' },
      { t: 22, f: 'a', a: '127.0.0.1:9000', s: [['stock', 5]] },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 0, r: 'a.1', x: 1 },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: -1, n: 'stock', m: 1, r: 'a.1', x: 1 },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 1.5, r: 'a.1', x: 1 },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 1, r: '' },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 1, r: 'a.1' },
      { t: 23, f: 'a', a: '127.0.0.1:9000', q: 1, n: 'stock', m: 1, r: 'a.1', x: -5 },
      { t: 24, f: 'b', q: 1, n: 'stock', g: -1, b: state },
      { t: 24, f: 'b', q: 1, n: 'stock', g: 1, b: null },
      { t: 24, f: 'b', q: 1, n: 'stock', g: 1, b: state, k: [rec.slice(1)] },
      { t: 25, f: 'a' },
    ]
    for (const m of bad) expect(readMessage(m), JSON.stringify(m).slice(0, 80)).toBeNull()
  })
})
