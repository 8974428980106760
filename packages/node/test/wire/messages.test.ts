import { describe, expect, it } from 'vitest'
import {
  fromKeyTuple,
  type KeyTuple,
  MAX_KEY_RECORDS,
  MsgType,
  readMessage,
  toKeyTuple,
} from '../../src/wire/messages.js'

const origin = { f: 'n1', a: '127.0.0.1:9000' }
const digest = '0:0000000000000000'

/** A valid key tuple, with fields replaced by position. */
function kt(over: Record<number, unknown> = {}): KeyTuple {
  const t: unknown[] = ['key-1', 'n1.1', 3, 'hits', 0, 5, 12, 1_700_000_000_000, 1, 0]
  for (const [i, v] of Object.entries(over)) t[Number(i)] = v
  return t as KeyTuple
}

describe('readMessage', () => {
  it.each([
    { t: MsgType.PULL, ...origin, d: digest, md: 'abc' },
    { t: MsgType.PULL, ...origin, h: 'http://127.0.0.1:8010', d: digest, md: 'abc' },
    { t: MsgType.ACK, ...origin, d: digest, md: 'x', s: { 'n1.1': 3 } },
    { t: MsgType.PUSH, f: 'n1', delta: { ranges: [], entries: [] } },
    { t: MsgType.PUSH, f: 'n1', a: 'h:1', delta: { ranges: [], entries: [] }, q: 4, s: {} },
    { t: MsgType.PUSH, f: 'n1', delta: { ranges: [], entries: [] }, k: [] },
    { t: MsgType.PUSH, f: 'n1', delta: { ranges: [], entries: [] }, k: [kt()] },
    { t: MsgType.PUSH, f: 'n1', delta: { ranges: [], entries: [] }, k: [kt({ 4: 1, 6: -5, 9: 1 })] },
    { t: MsgType.PUSH_ACK, f: 'n1', q: 0 },
    {
      t: MsgType.MEMBERS,
      f: 'n1',
      m: [
        ['n2', 'h:2', ''],
        ['n3', 'h:3', 'http://h:3'],
      ],
    },
    { t: MsgType.LEAVE, f: 'n1' },
  ])('accepts %j', (m) => {
    expect(readMessage(m)).toBe(m)
  })

  it.each([
    null,
    42,
    [],
    {},
    { t: 99, f: 'n1' },
    { t: MsgType.PULL, ...origin, d: 'nope', md: '' },
    { t: MsgType.PULL, ...origin, d: digest, md: '', extra: 1 },
    { t: MsgType.PULL, f: 'bad id!', a: 'h:1', d: digest, md: '' },
    { t: MsgType.ACK, ...origin, d: digest, md: '', s: [1] },
    { t: MsgType.PUSH, f: 'n1', delta: 'x' },
    { t: MsgType.PUSH, f: 'n1', delta: {}, q: -1 },
    { t: MsgType.PUSH, f: 'n1', delta: {}, q: 1.5 },
    { t: MsgType.PUSH_ACK, f: 'n1' },
    { t: MsgType.MEMBERS, f: 'n1', m: [['n2', 'h:2']] },
    { t: MsgType.MEMBERS, f: 'n1', m: [['n2', 'h:2', 'ftp://x']] },
    { t: MsgType.LEAVE },
    { t: '1', ...origin, d: digest, md: '' },
    // key records: container, count cap, and every field
    { t: MsgType.PUSH, f: 'n1', delta: {}, k: {} },
    { t: MsgType.PUSH, f: 'n1', delta: {}, k: [kt().slice(0, 9)] },
    { t: MsgType.PUSH, f: 'n1', delta: {}, k: [[...kt(), 0]] },
    { t: MsgType.PUSH, f: 'n1', delta: {}, k: Array.from({ length: MAX_KEY_RECORDS + 1 }, () => kt()) },
    ...[
      { 0: '' },
      { 0: 'x'.repeat(129) },
      { 0: 'a\nb' },
      { 1: '' },
      { 1: 'a\u0000b' },
      { 1: 7 },
      { 2: 0 },
      { 2: 1.5 },
      { 3: '__proto__' },
      { 3: 'bad name!' },
      { 4: 2 },
      { 4: 'increment' },
      { 5: 0 },
      { 5: 2 ** 53 },
      { 6: 0.5 },
      { 7: -1 },
      { 8: 0 },
      { 8: 101 },
      { 9: true },
    ].map((bad) => ({ t: MsgType.PUSH, f: 'n1', delta: {}, k: [kt(), kt(bad)] })),
  ])('refuses %j', (m) => {
    expect(readMessage(m)).toBeNull()
  })
})

describe('key tuples', () => {
  it('round-trip a key record', () => {
    const r = fromKeyTuple(kt({ 4: 1, 8: 2, 9: 1 }))
    expect(r).toEqual({
      key: 'key-1',
      replica: 'n1.1',
      seq: 3,
      name: 'hits',
      op: 'decrement',
      amount: 5,
      value: 12,
      at: 1_700_000_000_000,
      attempt: 2,
      compensated: true,
    })
    expect(toKeyTuple(r)).toEqual(kt({ 4: 1, 8: 2, 9: 1 }))
    expect(fromKeyTuple(kt())).not.toHaveProperty('compensated')
  })
})
